"""The `jaxphys` command line: list, tour, --version, exit codes."""

import pytest

from jaxphys import cli
from jaxphys.tour import CHAPTERS


def test_list_names_every_chapter(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(CHAPTERS)
    for line, chapter in zip(out, CHAPTERS):
        assert line.split()[:2] == [str(chapter.number), chapter.name]
        assert chapter.title in line
    assert "line-fit" in out[0]


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("jaxphys ")


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "tour" in capsys.readouterr().out


def test_unknown_chapter_exits_2_and_lists_names(tmp_path, capsys):
    assert cli.main(["tour", "--only", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err
    for c in CHAPTERS:
        assert c.name in err


def test_bad_option_exits_2(capsys):
    assert cli.main(["tour", "--seed", "many"]) == 2


def test_tour_quick_line_fit(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "tmp"
    assert cli.main(["tour", "--quick", "--only", "line-fit", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "line-fit" in report and "slope" in report
    assert sorted(p.name for p in out.glob("*.png")) == ["ch01_chi2_surface.png",
                                                         "ch01_line_fit.png"]
    assert "line-fit" in capsys.readouterr().out      # the one-line result


def test_bench_is_not_a_command(capsys):
    """The benchmarks run from a checkout with `python -m benchmarks`, not through the CLI."""
    assert cli.main(["bench"]) == 2
    assert "bench" in capsys.readouterr().err
