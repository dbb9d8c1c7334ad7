"""The ``jaxphys`` command: the tour and its chapter list.

Usage::

    jaxphys tour [--out DIR] [--quick] [--only NAME[,NAME...]] [--seed N] [--no-progress] [-q]
    jaxphys list
    jaxphys --version

The benchmarks are not part of the installed package: run them from a source
checkout with ``python -m benchmarks``.

Exit codes: 0 success; 1 a chapter failed or a dependency is missing;
2 a usage error (e.g. an unknown chapter).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _version() -> str:
    from jaxphys.tour._report import jaxphys_version

    return jaxphys_version()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxphys",
        description="jaxphys: machine learning for physicists on JAX. "
                    "Run `jaxphys tour` for a guided tour that writes figures and a report.")
    parser.add_argument("--version", action="version", version=f"jaxphys {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tour = sub.add_parser("tour", help="run the tour's chapters, write figures and report.md",
                          description="Run the tour's chapters in order; write PNG figures and "
                                      "report.md to the output folder.")
    tour.add_argument("--out", default="jaxphys-tour", metavar="DIR",
                      help="output folder (default: ./jaxphys-tour)")
    tour.add_argument("--quick", action="store_true",
                      help="small, fast versions of every chapter (seconds each)")
    tour.add_argument("--only", metavar="NAME", action="append",
                      help="run only this chapter (name or number; repeat or comma-separate "
                           "for several; see `jaxphys list`)")
    tour.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tour.add_argument("--no-progress", action="store_true", help="no progress bar")
    tour.add_argument("-q", "--quiet", action="store_true",
                      help="no progress bar and no per-chapter result lines")

    sub.add_parser("list", help="list the tour's chapters")
    return parser


def _cmd_list() -> int:
    from jaxphys.tour import CHAPTERS

    width = max(len(c.name) for c in CHAPTERS)
    for c in CHAPTERS:
        print(f"{c.number:3d}  {c.name:<{width}s}  {c.title}")
    return 0


def _cmd_tour(args: argparse.Namespace) -> int:
    from jaxphys.tour import run_tour

    try:
        result = run_tour(args.out, quick=args.quick, only=args.only, seed=args.seed,
                          progress=not (args.no_progress or args.quiet),
                          verbose=not args.quiet)
    except ValueError as err:
        print(f"jaxphys tour: error: {err}", file=sys.stderr)
        return 2
    except ImportError as err:
        print(f"jaxphys tour: error: {err}", file=sys.stderr)
        return 1
    if result.failed:
        names = ", ".join(r.chapter.name for r in result.failed)
        print(f"jaxphys tour: {len(result.failed)} chapter(s) failed: {names} "
              f"(tracebacks in {result.report})", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jaxphys`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command == "list":
        return _cmd_list()
    if args.command == "tour":
        return _cmd_tour(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
