"""``python -m clv_xl.template [OUT_DIR] [--demo]``: write the template (and the demo book)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .build import build_template


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clv_xl.template")
    parser.add_argument("out", nargs="?", type=Path, default=Path("workbook"))
    parser.add_argument("--demo", action="store_true", help="also write clv_demo.xlsx")
    args = parser.parse_args(argv)
    print(build_template(args.out / "clv_template.xlsx"))
    if args.demo:
        from ..demo import demo_data

        print(build_template(args.out / "clv_demo.xlsx", demo_data()))


if __name__ == "__main__":
    main()
