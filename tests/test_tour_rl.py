"""The PPO chapter of the tour, run once in --quick mode (a file of its own so that
pytest-xdist runs it beside the other chapters)."""

import pytest

pytest.importorskip("matplotlib")

CHAPTER_NAMES = ("ppo",)   # tabular-rl and ising-agent run in test_rl_tabular/test_rl_ising_chain


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_real_chapter_quick(name, quick_chapter, chapter_checks):
    result, out = quick_chapter(name)
    chapter_checks(name, result, out)
