"""The ``clv-xl`` command: demo, template, summary, recompute, lite."""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import signal
import sys
from pathlib import Path

import pandas as pd

from . import __version__
from .book import dates
from .book.io import BookError, BookReader, write_tables
from .demo import demo_data
from .engine.metrics import client_figures
from .report import DAY_KEYS, text_report
from .book.schema import CLIENTS, INPUT_SHEETS, LABELS
from .book.settings import Settings, SettingsError
from .template import build_books, build_template
from .book.validate import SchemaError

#: Set this variable to see the Python traceback of an unexpected error.
DEBUG_VARIABLE = "CLV_XL_DEBUG"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not os.environ.get(DEBUG_VARIABLE):
        sys.unraisablehook = _quiet  # a writer cleaned up after an error prints no traceback
    try:
        with _sigterm_as_exit():
            return args.run(args)
    except (BookError, SchemaError, SettingsError) as error:
        return _fail(str(error))
    except OSError as error:
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        return _fail(f"{error.strerror or error}{where}")
    except (KeyboardInterrupt, Terminated) as stop:
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"clv-xl: {what}: stopped; a book being written was left as it was",
              file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    except MemoryError:
        return _fail("out of memory: the file is too large for this computer")
    except Exception as error:  # noqa: BLE001 - no traceback reaches a user
        if os.environ.get(DEBUG_VARIABLE):
            raise
        return _fail(f"could not finish ({type(error).__name__}: {_first_line(error)}); "
                     f"set {DEBUG_VARIABLE}=1 to see the details, and please report it")


def _quiet(unraisable) -> None:
    """Errors Python can only report (in a generator's cleanup): the command has already said
    what went wrong in one line."""


def _fail(message: str, code: int = 1) -> int:
    print(f"clv-xl: error: {_first_line(message)}", file=sys.stderr)
    return code


def _first_line(error) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:400] if lines else type(error).__name__


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that the run's cleanup (temporary files
    removed, the book left as it was, its lock let go) happens as for Ctrl-C."""


@contextlib.contextmanager
def _sigterm_as_exit():
    """SIGTERM raises :class:`Terminated` for the block (main thread only; elsewhere the
    default handling stays)."""
    def handler(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clv-xl", description="Client lifetime value and churn risk, for Excel.")
    parser.add_argument("--version", action="version", version=f"clv-xl {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="the demo studio: build its book, recompute it, report")
    demo.add_argument("--out", type=Path, default=Path("clv-demo"),
                      help="folder for the files (default: ./clv-demo)")
    demo.add_argument("--clients", type=int, default=300, help="clients to make (default 300)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.set_defaults(run=run_demo)

    template = commands.add_parser("template", help="build the template workbooks (.xlsx and .xlsm with the Recompute button)")
    template.add_argument("--out", type=Path, default=Path("."),
                          help="folder for the books (default: the current folder)")
    template.add_argument("--demo", action="store_true",
                          help="also build clv_demo.xlsx, filled with the demo studio")
    template.set_defaults(run=run_template)

    summary = commands.add_parser(
        "summary", help="per-client figures from a book, a sessions CSV or an export")
    summary.add_argument("source", type=Path, help="BOOK.xlsx, SESSIONS.csv or an export "
                         "(CSV or xlsx of a booking, shop or payment system)")
    summary.add_argument("--as-of", help="the day to compute for, YYYY-MM-DD (default: the "
                         "book's as-of setting, else today)")
    summary.add_argument("--out", type=Path, help="write the table to this .csv or .xlsx")
    summary.add_argument("--margin", help="gross margin, e.g. 60%% (default: the book's "
                         "Settings, else 60%%)")
    summary.add_argument("--acquisition-cost", help="what winning a client costs, where the "
                         "book gives none (default: the book's Settings, else 50)")
    summary.add_argument("--currency", help="shown beside money (default: the book's, else USD)")
    _export_options(summary)
    summary.set_defaults(run=run_summary)

    importer = commands.add_parser(
        "import", help="append an export's clients and sessions to a book")
    importer.add_argument("export", type=Path, help="the export: CSV or xlsx")
    importer.add_argument("--into", type=Path, required=True, metavar="BOOK",
                          help="the book to append to (.xlsx or .xlsm)")
    importer.add_argument("--out", type=Path, help="write the result to this file and leave "
                          "the book untouched (default: replace the book, keeping BOOK.bak)")
    _export_options(importer)
    importer.set_defaults(run=run_import)

    grow = commands.add_parser(
        "grow", help="make a book's own formulas count every filled row (tables stretched, "
        "room for more clients and sessions)")
    grow.add_argument("book", type=Path, help="BOOK.xlsx or BOOK.xlsm")
    grow.add_argument("--out", type=Path, help="write the result to this file and leave "
                      "the book untouched (default: replace the book, keeping BOOK.bak)")
    grow.set_defaults(run=run_grow)

    recompute = commands.add_parser(
        "recompute", help="fill the Forecast and Issues sheets of a book (headless)")
    recompute.add_argument("book", type=Path, help="BOOK.xlsx or BOOK.xlsm")
    recompute.add_argument("--as-of", help="the day to compute for, YYYY-MM-DD (default: the "
                           "book's as-of setting, else today)")
    recompute.add_argument("--out", type=Path, help="write the result to this file and leave "
                           "the book untouched (default: replace the book, keeping BOOK.bak)")
    recompute.set_defaults(run=run_recompute)

    lite = commands.add_parser(
        "lite", help="write main.py and requirements.txt for xlwings Lite (Mac, Excel on the web)")
    lite.add_argument("--out", type=Path, default=Path("clv-lite"),
                      help="folder for the two files (default: ./clv-lite)")
    lite.add_argument("--requirement", help="the clv-xl line of requirements.txt, e.g. a wheel's "
                      "URL (default: clv-xl==this version)")
    lite.set_defaults(run=run_lite)
    return parser


def run_lite(args) -> int:
    from .lite.files import write_lite_files

    for path in write_lite_files(args.out, args.requirement):
        print(f"wrote {path}")
    print("Paste them into the xlwings Lite editor: docs/lite.md has the three steps.")
    return 0


def run_demo(args) -> int:
    from .batch.file_book import FileBook
    from .batch.pipeline import recompute

    data = demo_data(seed=args.seed, n_clients=args.clients)
    settings = Settings(as_of=data.as_of)
    metrics, _ = client_figures(data.clients, data.sessions, data.contacts, settings)
    args.out.mkdir(parents=True, exist_ok=True)
    book = args.out / "clv_demo.xlsx"
    blank = build_template(args.out / ".clv_demo.unfilled.xlsx", data)
    try:
        outputs = recompute(FileBook(blank, out=book), as_of=data.as_of)
    finally:
        blank.unlink(missing_ok=True)
    print(f"Demo studio: {len(data.clients):,} clients, {len(data.sessions):,} sessions, "
          f"{len(data.contacts):,} contacts, as of {data.as_of}.\n")
    print(text_report(metrics, settings.currency))
    print(f"\n{outputs.status}")
    print(f"\nWrote {book}: the template filled with the demo studio; its formulas compute "
          "the figures above, and the Forecast and Issues sheets hold the recompute.")
    return 0


def run_template(args) -> int:
    print(f"Building the books in {args.out.resolve()} ...", flush=True)
    build_books(args.out, args.demo, on_written=lambda path, seconds: print(
        f"Wrote {path} ({seconds:.1f} s)", flush=True))
    return 0


def _export_options(command) -> None:
    command.add_argument("--map", metavar='"EXPORT COLUMN=COLUMN,..."',
                         help='name the columns yourself, e.g. "Order Date=Date,Customer=Client ID"')
    order = command.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       help="read dates like 01/10/2025 as 1 October")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read dates like 01/10/2025 as January 10")


def _is_book(path: Path) -> bool:
    """A workbook with clv-xl's input sheets (else it is read as an export)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return False
    names = set(BookReader(path).sheet_names())
    return all(sheet.name in names for sheet in INPUT_SHEETS)


def run_summary(args) -> int:
    out_kind = _out_kind(args.out)
    if not args.source.exists():
        raise BookError(f"{args.source} does not exist")
    is_book = _is_book(args.source)
    if is_book:
        from .batch.pipeline import load_inputs

        as_of = _checked_as_of(args.as_of)  # None means the book's
        inputs = load_inputs(BookReader(args.source), as_of)
        clients, sessions, contacts = inputs.clients, inputs.sessions, inputs.contacts
        settings, as_of, problems = inputs.settings, inputs.as_of, inputs.problems
        if clients.empty:
            raise BookError(f"{args.source.name}: no usable client rows in Clients"
                            + (" (see the reasons above)" if problems else ""))
    else:
        from .book.exports import no_rows_message, read_export, validate_export

        settings = Settings(as_of=_checked_as_of(args.as_of))
        as_of = pd.Timestamp(settings.as_of or pd.Timestamp.today()).normalize()
        export = read_export(args.source, args.map, args.dayfirst)
        print(f"Read {export.describe()}", file=sys.stderr)
        sessions, problems = validate_export(export, as_of)
        ids = pd.unique(sessions["client_id"])
        clients = pd.DataFrame({k: ids if k == "client_id" else None for k in CLIENTS.keys})
        clients["name"] = export.names.reindex(ids).to_numpy() if len(ids) else None
        contacts = None
        if sessions.empty:
            _print_problems(problems)
            raise BookError(no_rows_message(export.name, len(export.sessions)))
    _print_problems(problems)
    settings = _with_flags(settings, args)
    metrics, churn = client_figures(clients, sessions, contacts, settings, as_of)
    print(text_report(metrics, settings.currency, churn_note=churn.message))
    print(f"\nAssumptions: margin {settings.margin:.0%}, acquisition cost "
          f"{settings.currency} {settings.default_acquisition_cost:,.2f} a client (where the "
          f"book gives none), currency {settings.currency}, as of {as_of.date()}; set them "
          "with --margin, --acquisition-cost, --currency, --as-of"
          + (" or on the book's Settings sheet" if is_book else "") + ".")
    if args.out:
        table = _labelled(metrics)
        if out_kind == "csv":
            write_csv(table, args.out)
        else:
            write_tables(args.out, {"Summary": _printable(table)})
        print(f"\nWrote {args.out}")
    return 0


def _printable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a workbook takes it: text without the control characters a workbook
    cannot hold (each becomes U+FFFD), blanks of whole-number columns as None."""
    import re

    bad = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
    out = table.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.Int64Dtype):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object).map(lambda v: bad.sub("\ufffd", v) if isinstance(v, str)
                                          else v)
    return out


def _with_flags(settings: Settings, args) -> Settings:
    """The settings with --margin, --acquisition-cost and --currency applied."""
    from .book.parse import parse_amounts

    given = {}
    if args.margin is not None:
        text = args.margin.strip()
        try:
            given["margin"] = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise BookError(f"--margin {args.margin}: write a percentage, e.g. 60%") from None
    if args.acquisition_cost is not None:
        cost = parse_amounts(pd.Series([args.acquisition_cost], dtype=object))[0]
        if not isinstance(cost, float):
            raise BookError(f"--acquisition-cost {args.acquisition_cost}: write an amount, "
                            "e.g. 50")
        given["default_acquisition_cost"] = cost
    if args.currency is not None:
        given["currency"] = args.currency.strip()
    return Settings({**settings, **given}) if given else settings


def _checked_as_of(text: str | None):
    """The --as-of day, or None; BookError when it is not a date clv-xl can compute for."""
    if text is None:
        return None
    reason = dates.range_reason(text)
    if reason:
        raise BookError(f"--as-of {text}: {reason}")
    return Settings(as_of=text).as_of


def _out_kind(out: Path | None) -> str | None:
    """'csv' or 'xlsx' for --out; any other name is refused before anything is computed."""
    if out is None:
        return None
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("csv", "xlsx"):
        raise BookError(f"--out {out.name}: summary writes a .csv or .xlsx table (the report "
                        "itself is printed: save it with > report.txt)")
    return kind


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _print_problems(problems) -> None:
    for problem in problems:
        print(f"{problem.severity}: {problem.as_text()}", file=sys.stderr)


def run_import(args) -> int:
    from .batch.importing import import_export

    result = import_export(args.export, args.into, args.map, args.dayfirst, args.out)
    print(f"Read {result.export.describe()}")
    _print_problems(result.problems)
    errors = sum(p.severity == "error" for p in result.problems)
    print(f"Added {_count(result.clients_added, 'client')} and "
          f"{_count(result.sessions_added, 'session')}"
          + (f"; {_count(result.sessions_already, 'session')} already in the book"
             if result.sessions_already else "")
          + (f"; {_count(errors, 'row')} left out (see above)" if errors else ""))
    if result.growth is not None:
        print(f"Made room for them: {result.growth.describe()}")
    if result.written is not None:
        print(f"Wrote {result.written}" + (f" (previous version kept as {result.backup})"
                                          if result.backup else ""))
        print(f"Run `clv-xl recompute {result.written}` (or Recompute in Excel) for the "
              "forecast.")
    else:
        print(f"Nothing new: {args.into} is unchanged.")
    return 0


def run_grow(args) -> int:
    from .batch.file_book import check_writable
    from .batch.room import grow_book

    if args.out is not None and args.out.suffix.lower() != args.book.suffix.lower():
        raise BookError(f"--out {args.out.name}: use the book's extension ({args.book.suffix})")
    check_writable(args.out if args.out is not None else args.book)
    plan, written, backup = grow_book(args.book, args.out)
    if written is None:
        print(f"Nothing to do: the formulas of {args.book} already count every filled row.")
        return 0
    print("Tables stretched over every filled row"
          + (f"; {plan.describe()}" if plan is not None else ""))
    print(f"Wrote {written}" + (f" (previous version kept as {backup})" if backup else ""))
    return 0


def run_recompute(args) -> int:
    from .batch.file_book import FileBook
    from .batch.pipeline import recompute

    as_of = _checked_as_of(args.as_of)
    bar = ProgressBar(sys.stderr)
    book = FileBook(args.book, out=args.out, on_progress=bar,
                    on_wait=lambda message: print(f"clv-xl: {message}", file=sys.stderr))
    try:
        outputs = recompute(book, as_of=as_of)
    finally:
        bar.close()
    counts = outputs.counts
    print(outputs.status)
    print(f"{counts['clients_computed']:,} clients computed; issues: {counts['errors']:,} "
          f"rows left out, {counts['warnings']:,} warnings (see the Issues sheet)")
    print(f"Wrote {book.written}" + (f" (previous version kept as {book.backup})"
                                      if book.backup else ""))
    return 0


class ProgressBar:
    """A one-line progress bar on a terminal (stderr), redrawn in place; silent elsewhere.

    Our own ten lines rather than tqdm: the batch reports a handful of stage fractions, not
    iterations, and the package needs no further dependency for it."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.shown = False
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.tty:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        done = int(round(fraction * self.width))
        line = f"\r[{'#' * done}{'.' * (self.width - done)}] {fraction:4.0%} {stage[:30]:<30}"
        self.stream.write(line)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (self.width + 40) + "\r")
            self.stream.flush()


#: Money figures (2 decimals); days are whole (DAY_KEYS); everything else gets 6 decimals.
MONEY_COLUMNS = ("revenue", "avg_order_value", "acquisition_cost", "clv", "tlv")


def _labelled(metrics: pd.DataFrame) -> pd.DataFrame:
    """The per-client table under its labels: days whole, money in cents, no float noise."""
    shown = [c for c in LABELS if c in metrics.columns or c == "client_id"]
    table = metrics.reset_index()[shown].copy()
    for column in shown:
        values = table[column]
        if not pd.api.types.is_float_dtype(values):
            continue
        if column in DAY_KEYS:
            table[column] = values.round().astype("Int64")
        else:
            table[column] = values.round(2 if column in MONEY_COLUMNS else 6)
    return table.rename(columns=LABELS)


#: Characters that make a spreadsheet read a CSV cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """Text that a spreadsheet would read as a formula, prefixed with ' (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """The table as CSV, every text cell quoted and formula-looking text neutralised."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(csv_safe)
    safe.columns = [csv_safe(c) for c in safe.columns]
    safe.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, date_format="%Y-%m-%d")


if __name__ == "__main__":
    sys.exit(main())
