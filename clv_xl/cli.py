"""The ``clv-xl`` command: demo, template, summary, recompute."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

import pandas as pd

from . import __version__
from .book import dates
from .book.io import BookError, BookReader, read_table, write_tables
from .demo import demo_data
from .engine.metrics import client_metrics
from .report import text_report
from .book.schema import CLIENTS, LABELS, SESSIONS
from .book.settings import Settings, SettingsError
from .template import build_books, build_template
from .book.validate import SchemaError, validate_sheet


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_as_exit():
            return args.run(args)
    except (BookError, SchemaError, SettingsError, OSError) as error:
        print(f"clv-xl: error: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated) as stop:
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"clv-xl: {what}: stopped; a book being written was left as it was",
              file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130


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
    template.add_argument("--out", type=Path, default=Path("workbook"),
                          help="folder for the books (default: ./workbook)")
    template.add_argument("--demo", action="store_true",
                          help="also build clv_demo.xlsx, filled with the demo studio")
    template.set_defaults(run=run_template)

    summary = commands.add_parser("summary", help="per-client figures from a CSV or a book")
    summary.add_argument("source", type=Path, help="SESSIONS.csv or BOOK.xlsx")
    summary.add_argument("--as-of", help="the day to compute for, YYYY-MM-DD (default: the "
                         "book's as-of setting, else today)")
    summary.add_argument("--out", type=Path, help="write the table to this .csv or .xlsx")
    summary.set_defaults(run=run_summary)

    recompute = commands.add_parser(
        "recompute", help="fill the Forecast and Issues sheets of a book (headless)")
    recompute.add_argument("book", type=Path, help="BOOK.xlsx or BOOK.xlsm")
    recompute.add_argument("--as-of", help="the day to compute for, YYYY-MM-DD (default: the "
                           "book's as-of setting, else today)")
    recompute.add_argument("--out", type=Path, help="write the result to this file and leave "
                           "the book untouched (default: replace the book, keeping BOOK.bak)")
    recompute.set_defaults(run=run_recompute)
    return parser


def run_demo(args) -> int:
    from .batch.file_book import FileBook
    from .batch.pipeline import recompute

    data = demo_data(seed=args.seed, n_clients=args.clients)
    settings = Settings(as_of=data.as_of)
    metrics = client_metrics(data.clients, data.sessions, data.contacts, settings)
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
    for path in build_books(args.out, args.demo):
        print(f"Wrote {path}")
    return 0


def run_summary(args) -> int:
    if args.source.suffix.lower() == ".csv":
        settings = Settings(as_of=args.as_of)
        as_of = pd.Timestamp(settings.as_of or pd.Timestamp.today()).normalize()
        raw, first_row = read_table(args.source, SESSIONS.name)
        sessions, problems = validate_sheet(SESSIONS, raw, first_row, as_of=as_of)
        ids = pd.unique(sessions["client_id"])
        clients = pd.DataFrame({k: ids if k == "client_id" else None for k in CLIENTS.keys})
        contacts = None
    else:
        from .batch.pipeline import load_inputs

        as_of = Settings(as_of=args.as_of).as_of  # checked here; None means the book's
        inputs = load_inputs(BookReader(args.source), as_of)
        clients, sessions, contacts = inputs.clients, inputs.sessions, inputs.contacts
        settings, as_of, problems = inputs.settings, inputs.as_of, inputs.problems
    for problem in problems:
        print(f"{problem.severity}: {problem.as_text()}", file=sys.stderr)
    metrics = client_metrics(clients, sessions, contacts, settings, as_of)
    print(text_report(metrics, settings.currency))
    if args.out:
        table = _labelled(metrics)
        if args.out.suffix.lower() == ".csv":
            table.to_csv(args.out, index=False)
        else:
            write_tables(args.out, {"Summary": table})
        print(f"\nWrote {args.out}")
    return 0


def run_recompute(args) -> int:
    from .batch.file_book import FileBook
    from .batch.pipeline import recompute

    as_of = None
    if args.as_of:
        if dates.range_reason(args.as_of):
            raise BookError(f"--as-of {args.as_of}: {dates.range_reason(args.as_of)}")
        try:
            as_of = pd.Timestamp(args.as_of).date()
        except ValueError:
            raise BookError(f"--as-of {args.as_of!r} is not a date (use YYYY-MM-DD)") from None
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


def _labelled(metrics: pd.DataFrame) -> pd.DataFrame:
    shown = [c for c in LABELS if c in metrics.columns or c == "client_id"]
    return metrics.reset_index()[shown].rename(columns=LABELS)


if __name__ == "__main__":
    sys.exit(main())
