"""python -m benchmarks.district OUT [flags]: write a synthetic district (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.district import Sizes, generate_district  # noqa: E402


def sizes_from(args: argparse.Namespace) -> Sizes:
    return Sizes(communities=args.communities, units=args.units, cases=args.cases, new_cases=args.new_cases,
                 replies=args.replies)


def add_size_flags(parser: argparse.ArgumentParser) -> None:
    default = Sizes()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--communities", type=int, default=default.communities)
    parser.add_argument("--units", type=int, default=default.units)
    parser.add_argument("--cases", type=int, default=default.cases, help="open cases already in the warehouse")
    parser.add_argument("--new-cases", type=int, default=default.new_cases, help="rows in tonight's drop files")
    parser.add_argument("--replies", type=int, default=default.replies, help="replies waiting in the maildir")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    add_size_flags(parser)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    district = generate_district(args.out, sizes_from(args), args.seed)
    print(json.dumps(district.manifest, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
