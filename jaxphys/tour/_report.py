"""``report.md``: the tour's figures, a table of every chapter's metrics and the set-up."""

from __future__ import annotations

import datetime as _dt
import inspect
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ._runner import ChapterRun


def format_value(value: float) -> str:
    """A metric as text: integers as such, other floats to 4 significant digits."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def jaxphys_version() -> str:
    """``jaxphys.__version__``, else the installed distribution's version, else "unknown"."""
    import jaxphys

    version = getattr(jaxphys, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as metadata_version

            version = metadata_version("jaxphys")
        except Exception:  # neither defined nor installed
            version = "unknown"
    return str(version)


def environment() -> dict[str, str]:
    """Versions and the device the tour ran on."""
    import jax

    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    return {
        "jaxphys": jaxphys_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": f"{len(devices)} × {', '.join(kinds)}",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def chapter_description(chapter) -> str:
    """The chapter module's docstring without its first (title) line, or ``""``."""
    module = sys.modules.get(getattr(chapter.run, "__module__", ""), None)
    doc = inspect.getdoc(module) if module is not None else None
    if not doc:
        return ""
    return "\n".join(doc.splitlines()[1:]).strip()


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _link(path: Path, out_dir: Path) -> str:
    rel = os.path.relpath(Path(path).resolve(), Path(out_dir).resolve())
    return Path(rel).as_posix().replace(" ", "%20")


def render_report(out_dir: Path, runs: Sequence["ChapterRun"], *, total_seconds: float,
                  seed: int, quick: bool, env: dict[str, str] | None = None) -> str:
    """The Markdown text of the report (figures linked relative to ``out_dir``).

    >>> from pathlib import Path
    >>> from jaxphys.tour import Chapter, ChapterResult, ChapterRun, render_report
    >>> ch = Chapter(1, "pi", "Estimating pi", lambda key, out_dir, quick: None)
    >>> run = ChapterRun(ch, ChapterResult("pi is about 3.142", {"pi": 3.14159}, []), 2.5, None)
    >>> env = {"jaxphys": "0.1", "jax": "0.4", "python": "3.11", "platform": "Linux",
    ...        "backend": "cpu", "devices": "1 x cpu"}
    >>> text = render_report(Path("out"), [run], total_seconds=2.5, seed=0, quick=True, env=env)
    >>> for line in text.splitlines():
    ...     if line.startswith("| 1 |"):     # the chapter table and the metrics table
    ...         print(line)
    | 1 | [`pi`](#1-pi) | Estimating pi | 2.5 | pi is about 3.142 |
    | 1 | pi | pi | 3.142 |
    """
    env = environment() if env is None else env
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    n_failed = sum(r.error is not None for r in runs)
    lines = [
        "# jaxphys tour",
        "",
        f"Generated {now} by `jaxphys tour` ({'quick' if quick else 'full'} run, seed {seed}).",
        "",
        f"- jaxphys {env['jaxphys']}, jax {env['jax']}, Python {env['python']} "
        f"on {env['platform']}",
        f"- backend `{env['backend']}`, devices: {env['devices']}",
        f"- total time: {total_seconds:.1f} s for {len(runs)} chapter"
        f"{'' if len(runs) == 1 else 's'}"
        + (f", **{n_failed} failed**" if n_failed else ""),
        "",
        "## Chapters",
        "",
        "| # | chapter | title | time [s] | result |",
        "|--:|---|---|--:|---|",
    ]
    for run in runs:
        c = run.chapter
        result = (run.result.summary if run.result is not None
                  else "**FAILED**: " + run.error.strip().splitlines()[-1])
        lines.append(f"| {c.number} | [`{c.name}`](#{c.number}-{c.name}) | {_cell(c.title)} | "
                     f"{run.seconds:.1f} | {_cell(result)} |")
    lines += ["", "## Metrics", "", "| # | chapter | metric | value |", "|--:|---|---|--:|"]
    for run in runs:
        if run.result is None:
            continue
        for name, value in run.result.metrics.items():
            lines.append(f"| {run.chapter.number} | {run.chapter.name} | {_cell(name)} | "
                         f"{format_value(value)} |")
    for run in runs:
        c = run.chapter
        lines += ["", f'<a id="{c.number}-{c.name}"></a>', "",
                  f"## {c.number}. {c.title} (`{c.name}`)", ""]
        if run.result is None:
            lines += ["This chapter failed:", "", "```text", run.error.rstrip(), "```"]
            continue
        about = chapter_description(c)
        if about:
            lines += [about, ""]
        lines += [f"**Result** ({run.seconds:.1f} s): {run.result.summary}", ""]
        for fig in run.result.figures:
            lines += [f"![{c.name}: {Path(fig).stem}]({_link(fig, out_dir)})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(out_dir: Path, runs: Sequence["ChapterRun"], *, total_seconds: float,
                 seed: int, quick: bool) -> Path:
    """Write ``out_dir/report.md`` (atomically) and return its path.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from jaxphys.tour import Chapter, ChapterResult, ChapterRun, write_report
    >>> ch = Chapter(1, "pi", "Estimating pi", lambda key, out_dir, quick: None)
    >>> run = ChapterRun(ch, ChapterResult("pi is about 3.142", {"pi": 3.14159}, []), 2.5, None)
    >>> path = write_report(Path(tempfile.mkdtemp()), [run], total_seconds=2.5, seed=0, quick=True)
    >>> path.name, "| 1 | pi | pi | 3.142 |" in path.read_text()
    ('report.md', True)
    """
    out_dir = Path(out_dir)
    text = render_report(out_dir, runs, total_seconds=total_seconds, seed=seed, quick=quick)
    path = out_dir / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
