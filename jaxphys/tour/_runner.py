"""The chapter registry types and the tour runner.

A chapter is a ``Chapter(number, name, title, run)``; ``run(key, out_dir, quick)``
does the work, saves its figures under ``out_dir`` and returns a
``ChapterResult``. ``run_tour`` runs chapters in order with a progress bar,
prints one line per chapter and writes ``report.md``.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

DEFAULT_OUT_DIR = "jaxphys-tour"


class ChapterResult(NamedTuple):
    """What a chapter hands back to the runner.

    Fields:
      summary: one line (no newline) printed after the chapter and shown in the report.
      metrics: ``{name: value}`` of Python floats (or ints), tabulated in the report.
      figures: paths of the PNG files the chapter saved, inside the tour's ``out_dir``.

    >>> from jaxphys.tour import ChapterResult
    >>> r = ChapterResult(summary="pi is about 3.142 from 10^6 darts",
    ...                   metrics={"pi": 3.14159, "darts": 1e6}, figures=[])
    >>> r.metrics["pi"], r.figures
    (3.14159, [])
    """

    summary: str
    metrics: dict[str, float]
    figures: list[Path]


class Chapter(NamedTuple):
    """One chapter of the tour.

    Fields:
      number: position in the tour (1, 2, ...); also seeds the chapter's key.
      name: short command-line name, e.g. ``"line-fit"`` (``jaxphys tour --only line-fit``).
      title: one-line human title.
      run: ``run(key, out_dir: Path, quick: bool) -> ChapterResult``; ``key`` is a typed
        PRNG key owned by the chapter; ``quick`` asks for a small, fast version.

    >>> from jaxphys.tour import Chapter, ChapterResult
    >>> def run(key, out_dir, quick):
    ...     return ChapterResult(summary="one line", metrics={"answer": 42.0}, figures=[])
    >>> ch = Chapter(number=1, name="answer", title="The answer", run=run)
    >>> ch.name, ch.run(None, None, True).metrics
    ('answer', {'answer': 42.0})
    """

    number: int
    name: str
    title: str
    run: Callable[..., ChapterResult]


class ChapterRun(NamedTuple):
    """A chapter as it ran in a tour.

    Fields:
      chapter: the ``Chapter``.
      result: its ``ChapterResult``; ``None`` if it raised.
      seconds: wall-clock time of ``chapter.run``.
      error: the formatted traceback if the chapter raised, else ``None``.

    >>> from jaxphys.tour import Chapter, ChapterResult, ChapterRun
    >>> ch = Chapter(1, "answer", "The answer", lambda key, out_dir, quick: None)
    >>> ok = ChapterRun(ch, ChapterResult("42", {"answer": 42.0}, []), seconds=0.1, error=None)
    >>> failed = ChapterRun(ch, result=None, seconds=0.0, error="ValueError: no data")
    >>> [run.error is None for run in (ok, failed)], ok.result.summary
    ([True, False], '42')
    """

    chapter: Chapter
    result: ChapterResult | None
    seconds: float
    error: str | None


class TourResult(NamedTuple):
    """The outcome of ``run_tour``.

    Fields:
      out_dir: folder holding ``report.md`` and the figures.
      report: path of ``report.md``.
      runs: one ``ChapterRun`` per chapter run, in order.
      seconds: total wall-clock time.

    >>> import tempfile
    >>> from jaxphys.tour import Chapter, ChapterResult, run_tour
    >>> def ok(key, out_dir, quick):
    ...     return ChapterResult("fine", {"x": 1.0}, [])
    >>> def broken(key, out_dir, quick):
    ...     raise ValueError("no data")
    >>> chapters = [Chapter(1, "ok", "Works", ok), Chapter(2, "broken", "Fails", broken)]
    >>> res = run_tour(tempfile.mkdtemp(), chapters=chapters, progress=False, verbose=False)
    >>> [run.chapter.name for run in res.runs], [run.chapter.name for run in res.failed]
    (['ok', 'broken'], ['broken'])
    >>> res.report.name, res.runs[1].error.strip().splitlines()[-1]
    ('report.md', 'ValueError: no data')
    """

    out_dir: Path
    report: Path
    runs: list[ChapterRun]
    seconds: float

    @property
    def failed(self) -> list[ChapterRun]:
        """The chapters that raised."""
        return [r for r in self.runs if r.error is not None]


def select_chapters(chapters: Sequence[Chapter], only: str | Sequence[str] | None
                    ) -> list[Chapter]:
    """The chapters named in ``only`` (names or numbers, comma-separated), in tour order.

    Raises:
      ValueError: naming the unknown chapter and listing the known names.

    >>> from jaxphys.tour import CHAPTERS, select_chapters
    >>> [c.name for c in select_chapters(CHAPTERS, "3,line-fit")]     # in tour order
    ['line-fit', 'polynomial']
    >>> select_chapters(CHAPTERS, "nope")
    Traceback (most recent call last):
    ...
    ValueError: only: unknown chapter 'nope'; known chapters: line-fit, classification, ...
    """
    if only is None:
        return list(chapters)
    wanted = [only] if isinstance(only, str) else list(only)
    names = [w.strip() for item in wanted for w in str(item).split(",") if w.strip()]
    if not names:
        raise ValueError("only: expected at least one chapter name, got none")
    by_key = {c.name: c for c in chapters} | {str(c.number): c for c in chapters}
    unknown = [n for n in names if n not in by_key]
    if unknown:
        known = ", ".join(c.name for c in chapters)
        raise ValueError(f"only: unknown chapter {', '.join(map(repr, unknown))}; "
                         f"known chapters: {known}")
    chosen = {by_key[n].number for n in names}
    return [c for c in chapters if c.number in chosen]


def _check_result(chapter: Chapter, result: object) -> ChapterResult:
    if not isinstance(result, ChapterResult):
        raise TypeError(f"chapter {chapter.name!r}: run() must return a ChapterResult, "
                        f"got {type(result).__name__}")
    metrics = {str(k): float(v) for k, v in result.metrics.items()}
    figures = [Path(f) for f in result.figures]
    for fig in figures:
        if not fig.is_file():
            raise FileNotFoundError(f"chapter {chapter.name!r}: figure {fig} was not written")
    summary = " ".join(str(result.summary).split())
    return ChapterResult(summary=summary, metrics=metrics, figures=figures)


def run_tour(out_dir: str | Path = DEFAULT_OUT_DIR, *, quick: bool = False,
             only: str | Sequence[str] | None = None, seed: int = 0, progress: bool = True,
             verbose: bool = True, chapters: Sequence[Chapter] | None = None,
             raise_errors: bool = False) -> TourResult:
    """Run the tour's chapters in order and write figures and ``report.md`` to ``out_dir``.

    Each chapter gets the key ``fold_in(key(seed), chapter.number)``, so a chapter
    run alone (``only=...``) gives the same numbers as in the full tour.

    Args:
      out_dir: output folder (created if needed).
      quick: small, fast versions of every chapter (a few seconds each on a laptop CPU).
      only: chapter names or numbers to run (a string may be comma-separated);
        all chapters if ``None``.
      seed: the tour's random seed.
      progress: show a tqdm progress bar over chapters (on stderr).
      verbose: print one result line per chapter and the report's path (on stdout).
      chapters: the chapter list; ``jaxphys.tour.CHAPTERS`` by default.
      raise_errors: re-raise a chapter's exception instead of recording it in the
        report and going on with the next chapter.

    Returns:
      a ``TourResult``; ``result.failed`` lists chapters that raised.

    Raises:
      ValueError: for an unknown chapter in ``only``, listing the known names.
      ImportError: if matplotlib (the ``plot`` extra) is not installed.

    A one-chapter tour of your own (``chapters=None`` runs the library's):

    >>> import tempfile
    >>> from jaxphys.tour import Chapter, ChapterResult, run_tour
    >>> def darts(key, out_dir, quick):
    ...     return ChapterResult("counted", {"n": 10.0 if quick else 1e6}, [])
    >>> res = run_tour(tempfile.mkdtemp(), quick=True, chapters=[Chapter(1, "darts", "D", darts)],
    ...                progress=False, verbose=False)
    >>> res.runs[0].result.metrics, res.report.read_text().startswith("# jaxphys tour")
    ({'n': 10.0}, True)
    """
    import jax
    from tqdm.auto import tqdm

    from jaxphys.plot import require_matplotlib
    from ._report import write_report

    if chapters is None:
        from jaxphys.tour import CHAPTERS as chapters
    selected = select_chapters(chapters, only)
    require_matplotlib()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tour_key = jax.random.key(int(seed))

    runs: list[ChapterRun] = []
    start = time.perf_counter()
    bar = tqdm(selected, desc="jaxphys tour", unit="chapter", disable=not progress,
               dynamic_ncols=True)
    for chapter in bar:
        bar.set_postfix_str(chapter.name)
        chapter_key = jax.random.fold_in(tour_key, chapter.number)
        t0 = time.perf_counter()
        try:
            result = _check_result(chapter, chapter.run(chapter_key, out, bool(quick)))
            error = None
        except Exception:
            if raise_errors:
                raise
            result, error = None, traceback.format_exc()
        seconds = time.perf_counter() - t0
        runs.append(ChapterRun(chapter, result, seconds, error))
        if verbose:
            line = (result.summary if result is not None
                    else "FAILED: " + error.strip().splitlines()[-1])
            tqdm.write(f"[{chapter.number:2d}] {chapter.name:<16s} {seconds:6.1f} s  {line}")
    bar.close()
    total = time.perf_counter() - start
    report = write_report(out, runs, total_seconds=total, seed=int(seed), quick=bool(quick))
    if verbose:
        tqdm.write(f"report: {report}")
    return TourResult(out_dir=out, report=report, runs=runs, seconds=total)
