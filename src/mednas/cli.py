"""``mednas`` command line: ``audit``, ``phantom`` and ``check-data``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mednas.errors import MednasError


def _count(node) -> tuple[int, int]:
    total, bad = 1, 0 if node.ok else 1
    for c in node.children:
        t, b = _count(c)
        total, bad = total + t, bad + b
    return total, bad


def cmd_audit(args: argparse.Namespace) -> int:
    from mednas.provenance import audit, format_tree

    status = 0
    for path in args.files:
        tree = audit(path, root=args.root)
        print("\n".join(format_tree(tree, full=args.full)))
        total, bad = _count(tree)
        print(f"{path}: {total} records checked, {bad} problem(s)")
        if bad:
            status = 1
    return status


def cmd_phantom(args: argparse.Namespace) -> int:
    import time

    from mednas.data.phantom import write_phantom

    t0 = time.perf_counter()
    ids = write_phantom(args.out, args.patients, args.seed)
    print(f"wrote {len(ids)} phantom patients to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    from mednas.data.check import check_dataset, count_cases, format_report

    problems = check_dataset(args.folder)
    if problems:
        print(format_report(problems))
        print(f"{len(problems)} problem(s) in {args.folder}")
        return 1
    print(f"{args.folder}: no problems found ({count_cases(args.folder)} cases)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mednas", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("audit", help="check a result's lineage back to raw inputs; exit 1 on any problem")
    a.add_argument("files", nargs="+", help="result files to audit")
    a.add_argument("--root", default=".", help="folder that relative paths in records are relative to")
    a.add_argument("--full", action="store_true", help="list every input file instead of folding healthy runs")
    a.set_defaults(func=cmd_audit)
    p = sub.add_parser("phantom", help="write a synthetic cardiac data set in the official ACDC layout")
    p.add_argument("out", help="output folder (must not exist yet, or is replaced whole)")
    p.add_argument("--patients", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_phantom)
    c = sub.add_parser("check-data", help="check a data set in nnU-Net v2 raw layout, reporting every problem; "
                                          "exit 1 on any")
    c.add_argument("folder", help="the data set folder (dataset.json, imagesTr, labelsTr, optional splits.json)")
    c.set_defaults(func=cmd_check_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mednas`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MednasError as exc:
        print(f"mednas: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
