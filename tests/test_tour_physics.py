"""The physics chapters of the tour, each run once in --quick mode (a file of their own so
that pytest-xdist runs them beside the other chapters)."""

import pytest

pytest.importorskip("matplotlib")

CHAPTER_NAMES = ("ising", "pinn", "signal", "scaling")


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_real_chapter_quick(name, quick_chapter, chapter_checks):
    result, out = quick_chapter(name)
    chapter_checks(name, result, out)
