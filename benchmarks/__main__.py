"""``python -m benchmarks [--only NAME] [--quick] [--out DIR] [--list]``.

``main(argv)`` is also what ``jaxphys bench`` calls from a repository checkout.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from . import REGISTRY, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run jaxphys benchmarks; write results.json and results.md.")
    parser.add_argument("--only", action="append", metavar="NAME", choices=list(REGISTRY),
                        help="run only this benchmark (and what it needs); repeatable. "
                             f"Known: {', '.join(REGISTRY)}")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats (smoke test; figures not meaningful)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: benchmarks/results)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        for name, bench in REGISTRY.items():
            doc = (sys.modules[bench.fn.__module__].__doc__ or "").strip().splitlines()
            print(f"{name:16s} {doc[0] if doc else ''}")
        return 0
    shown = list(sys.argv[1:] if argv is None else argv)
    command = " ".join(["python -m benchmarks", *map(shlex.quote, shown)])
    doc = run(args.only, quick=args.quick, out_dir=args.out, command=command,
              verbose=not args.quiet)
    for name, bench in doc["benchmarks"].items():
        figs = bench["figures"]
        keys = [k for k in ("peak_gflops", "jaxphys_steps_per_s", "jaxphys_scan_steps_per_s",
                            "torch_steps_per_s", "ratio_jaxphys_over_torch",
                            "jaxphys_fraction_of_peak") if k in figs]
        print(f"{name}: " + ", ".join(f"{k}={figs[k]:.4g}" for k in keys if figs[k] is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
