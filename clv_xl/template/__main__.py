"""``python -m clv_xl.template [OUT_DIR] [--demo]``: write the committed books."""

from __future__ import annotations

import argparse
from pathlib import Path

from .build import build_books


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clv_xl.template")
    parser.add_argument("out", nargs="?", type=Path, default=Path("workbook"))
    parser.add_argument("--demo", action="store_true", help="also write clv_demo.xlsx")
    args = parser.parse_args(argv)
    for path in build_books(args.out, args.demo):
        print(path)


if __name__ == "__main__":
    main()
