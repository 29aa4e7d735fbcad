"""The hidden Calc sheet: every per-client total of Sessions and Contacts, computed once for
all clients, so recalculation grows with the rows, not with clients x rows.

COUNTIFS/SUMIFS per client read every log row once per client (the book took minutes at a few
thousand clients). Here each log row is read a fixed number of times:

1. **Slots.** Each Sessions, Contacts and "Referred by" row gets the position (slot) of its
   client in the Clients table, one formula per row: a binary search (MATCH type 1) kept when it
   lands on the id, as it does when Clients is sorted by Client ID, else the linear MATCH that
   stops at the id. Blank rows cost one comparison. Ids match as MATCH matches: ignoring case.
2. **Counts.** ``FREQUENCY(IF(condition, slot, 0), 0..K)`` counts the matching rows of every
   client in one sorted pass; element slot + 1 is the client's count (element 1 collects rows
   of no client). The false branch is 0, not FALSE, so the data is never empty (LibreOffice
   answers an error for that).
3. **Revenue.** Amounts are summed in cents bit by bit: one FREQUENCY counts, for every client
   and bit b, the Completed sessions whose cents have bit b set (value 32 slot + b); the revenue
   is the sum of count x 2^b (exact to the cent).
4. **First and last session.** A binary search on the day run for all clients at once: 16
   rounds of one FREQUENCY each (:func:`_date_search`).

Every range is a fixed block of rows sized ahead (:func:`layout`), so a row typed, or appended
by a script, below a table still counts; ``DataCheck`` says when rows fall beyond a block. All
of it is Excel 2019 (legacy array formulas, no dynamic arrays) and LibreOffice 7.4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

from ..book.schema import CLIENTS, CONTACTS, SESSIONS, STATUSES

SHEET = "Calc"
#: Amounts are summed in cents up to 2^REVENUE_BITS - 1 cents per session.
REVENUE_BITS = 27
MAX_AMOUNT = (2 ** REVENUE_BITS - 1) / 100
#: Elements of the revenue FREQUENCY per client: its bits, then unused ones up to 32.
BIT_STRIDE = 32
#: Rows the formulas read in Sessions and Contacts, at least (more for bigger books).
SESSION_ROWS = 20_000
CONTACT_ROWS = 60_000


def _capacity(n: int, least: int) -> int:
    """Rows to read: at least ``least``, and room for half as many rows again as ``n``."""
    return max(least, int(math.ceil(n * 1.5 / 1_000)) * 1_000)


@dataclass(frozen=True)
class Layout:
    """How many rows of each input sheet the formulas read (from row 2)."""

    clients: int
    sessions: int
    contacts: int


def layout(client_rows: int, n_sessions: int = 0, n_contacts: int = 0) -> Layout:
    return Layout(client_rows, _capacity(n_sessions, SESSION_ROWS),
                  _capacity(n_contacts, CONTACT_ROWS))


def input_name(sheet, key: str) -> str:
    """The workbook name of an input column's rows, e.g. ``SessionsClientID``."""
    return sheet.name + "".join(ch for ch in sheet.column(key).header if ch.isalnum())


@dataclass(frozen=True)
class Count:
    """One per-client count: rows of ``sheet`` meeting ``condition`` (an array expression)."""

    key: str
    label: str
    sheet: object
    condition: str

    @property
    def slots(self) -> str:
        """The slot column counted."""
        return {SESSIONS.name: "SessionSlot", CONTACTS.name: "ContactSlot",
                CLIENTS.name: "ReferrerSlot"}[self.sheet.name]


_SD, _SS = input_name(SESSIONS, "date"), input_name(SESSIONS, "status")
_CD, _CDIR = input_name(CONTACTS, "date"), input_name(CONTACTS, "direction")
_CREP = input_name(CONTACTS, "replied")
_PAST = f"ISNUMBER({_SD})*({_SD}<=AsOfDate)"
_RECENT = f"{_PAST}*({_SD}>WindowStart)"
#: A row whose status is none of the four is no session (the validator leaves it out).
_SESSION = "+".join(f'({_SS}="{status}")' for status in STATUSES)
_OUT = f'({_CDIR}="Out")*ISNUMBER({_CD})*({_CD}<=AsOfDate)'

COUNTS: tuple[Count, ...] = (
    Count("completed", "Completed", SESSIONS, f'({_SS}="Completed")*{_PAST}'),
    Count("cancelled", "Cancelled", SESSIONS, f'({_SS}="Cancelled")*{_PAST}'),
    Count("rescheduled", "Rescheduled", SESSIONS, f'({_SS}="Rescheduled")*{_PAST}'),
    Count("upcoming", "Booked ahead", SESSIONS,
          f'({_SS}="Booked")*ISNUMBER({_SD})*({_SD}>=AsOfDate)'),
    Count("booked_in_horizon", "Booked in horizon", SESSIONS,
          f'({_SS}="Booked")*ISNUMBER({_SD})*({_SD}>=AsOfDate)*({_SD}<=AsOfDate+HorizonDays)'),
    Count("recent_bookings", "Recent bookings", SESSIONS, f"{_RECENT}*({_SESSION})"),
    Count("recent_cancelled", "Recent cancelled", SESSIONS,
          f'{_RECENT}*(({_SS}="Cancelled")+({_SS}="Rescheduled"))'),
    Count("recent_out", "Recent out", CONTACTS, f"{_OUT}*({_CD}>WindowStart)"),
    Count("recent_replied", "Recent replied", CONTACTS,
          f'{_OUT}*({_CD}>WindowStart)*({_CREP}="Yes")'),
    Count("earlier_out", "Earlier out", CONTACTS, f"{_OUT}*({_CD}<=WindowStart)"),
    Count("earlier_replied", "Earlier replied", CONTACTS,
          f'{_OUT}*({_CD}<=WindowStart)*({_CREP}="Yes")'),
    Count("referrals", "Referrals", CLIENTS, "1"),
)


def count_name(key: str) -> str:
    """The workbook name of a count's FREQUENCY result, e.g. ``CountCompleted``."""
    return "Count" + "".join(part.capitalize() for part in key.split("_"))


# --- what the Clients table reads ----------------------------------------------------------

#: The Calc slot of a Clients row (row 2 is slot 1).
SLOT = "(ROW()-1)"


def client_count(key: str) -> str:
    """The count of the Clients row the formula stands in (element 1 holds slot 0)."""
    return f"INDEX({count_name(key)},{SLOT}+1)"


def client_revenue() -> str:
    """Revenue of the Clients row: its bit counts times the powers of two, in cents / 100."""
    powers = "{" + ";".join(str(2 ** b) for b in range(REVENUE_BITS)) + "}"
    first = f"{BIT_STRIDE}*{SLOT}+1"
    block = f"INDEX(RevenueBits,{first}):INDEX(RevenueBits,{first}+{REVENUE_BITS - 1})"
    return f"SUMPRODUCT({block},{powers})/100"


def client_session_date(which: str) -> str:
    """The ``first`` or ``last`` Completed session date of the Clients row."""
    return f"INDEX({which.capitalize()}Session,{SLOT})"


# --- the sheet -----------------------------------------------------------------------------

def _slot_formula(cell: str, ids: str) -> str:
    """The Clients slot of the id in ``cell``: 0 when blank or not a client.

    A binary search first (MATCH type 1: about 14 steps in 10,000 clients), kept only when it
    lands on the id itself, as it does when Clients is sorted by Client ID; otherwise the
    linear search (MATCH type 0), which stops at the id.
    """
    exact = f"MATCH({cell},{ids},0)"
    guess = f"MATCH({cell},{ids},1)"
    return (f'IF({cell}="",0,IFERROR(IF(INDEX({ids},{guess})={cell},{guess},{exact}),'
            f"IFERROR({exact},0)))")


def _rows(sheet, key: str, n: int) -> str:
    letter = get_column_letter(sheet.keys.index(key) + 1)
    return f"{sheet.name}!${letter}$2:${letter}${n + 1}"


def add_calc(wb, lay: Layout) -> None:
    """The hidden Calc sheet and the workbook names the formulas use."""
    ws = wb.create_sheet(SHEET)
    k = lay.clients
    rows = {SESSIONS.name: lay.sessions, CONTACTS.name: lay.contacts, CLIENTS.name: k}
    for sheet in (SESSIONS, CONTACTS):
        for column in sheet.columns:
            _define(wb, input_name(sheet, column.key), _rows(sheet, column.key, rows[sheet.name]))
    _define(wb, "ClientRows", _rows(CLIENTS, "client_id", k))
    ids = "ClientRows"

    columns = []  # (name, header, rows, formula, one array formula or one formula per row)

    def column(name, header, n, formula, array=True, template=False):
        """``template``: the formula names cells as {row}, {r}, {up} (this row, the one above)
        and other columns as {ColumnName}; otherwise it is taken as written."""
        if not template:
            formula = formula.replace("{", "{{").replace("}", "}}")
        columns.append((name, header, n, formula, array))

    def per_row(sheet, key):
        letter = get_column_letter(sheet.keys.index(key) + 1)
        return _slot_formula(f"{sheet.name}!{letter}{{row}}", ids).replace(
            "{", "{{").replace("}", "}}").replace("{{row}}", "{row}")

    column("ReferrerSlot", "Slot of each 'Referred by'", k, per_row(CLIENTS, "referred_by"),
           array=False, template=True)
    column("SessionSlot", "Slot of each Sessions row", lay.sessions,
           per_row(SESSIONS, "client_id"), array=False, template=True)
    column("ContactSlot", "Slot of each Contacts row", lay.contacts,
           per_row(CONTACTS, "client_id"), array=False, template=True)
    slots = f"ROW({SHEET}!$A$1:$A${k + 1})-1"  # bins 0 (rows of no client), 1 .. k
    for count in COUNTS:
        column(count_name(count.key), f"Count: {count.label}", k + 2,
               f"FREQUENCY(IF({count.condition},{count.slots},0),{slots})")
    bits = "{" + ",".join(str(b) for b in range(REVENUE_BITS)) + "}"
    powers = "{" + ",".join(str(2 ** b) for b in range(REVENUE_BITS)) + "}"
    amount = input_name(SESSIONS, "amount")
    cents = f"ROUND(IF(ISNUMBER({amount}),{amount},0)*100,0)"
    grid = f"ROW({SHEET}!$A$1:$A${BIT_STRIDE * (k + 1)})-1"
    column("RevenueBits", "Completed sessions per client and bit of the cents",
           BIT_STRIDE * (k + 1) + 1,
           f'FREQUENCY(IF(({_SS}="Completed")*{_PAST}*(SessionSlot>0)*MOD(INT({cents}/{powers}),2),'
           f"{BIT_STRIDE}*SessionSlot+{bits},0),{grid})")

    _date_search(column, k, lay.sessions)

    for sheet, n in ((CLIENTS, k), (SESSIONS, lay.sessions), (CONTACTS, lay.contacts)):
        last = get_column_letter(len(sheet.columns))
        _define(wb, f"{sheet.name}Beyond", f"{sheet.name}!$A${n + 2}:${last}$1048576")
    ws["A1"] = ("Computed for the formulas of Clients; nothing here is for typing. "
                "See docs/template.md.")
    letters = {name: get_column_letter(j) for j, (name, *_) in enumerate(columns, start=1)}
    for j, (name, header, n, formula, array) in enumerate(columns, start=1):
        letter = get_column_letter(j)
        ws.cell(2, j, header)
        first, last = 3, 2 + n
        if array:
            ws[f"{letter}{first}"] = ArrayFormula(f"{letter}{first}:{letter}{last}",
                                                  "=" + formula.format(**letters))
        else:  # input row r + 1 on Calc row r + 2
            for r in range(first, last + 1):
                ws.cell(r, j, "=" + formula.format(row=r - 1, r=r, up=r - 1, **letters))
        if not any(ch.isdigit() for ch in name):  # the search's rounds need no name
            _define(wb, name, f"{SHEET}!${letter}${first}:${letter}${last}")
    ws.sheet_state = "hidden"


#: Session days are counted from this serial day (1989-12-31) in 16 bits: 1990 to 2149.
DAY_ZERO = 32873
DAY_BITS = 16


def _date_search(column, k: int, sessions: int) -> None:
    """First and last Completed session of every client, by a binary search on the day that
    every client runs at once: 16 rounds, each one FREQUENCY.

    A Completed session to date of slot j on day d is the number j * 2^16 + (d - DAY_ZERO)
    (2^16 - 1 - that for the first session, so both searches look for a largest value). Round
    b tries, for each client, candidate + 2^b: one FREQUENCY with the bins j * 2^16 + candidate
    + 2^b - 1 counts, once summed down the slots, the client's sessions below it, hence those
    at or above it (its Completed count less those below); the bit is kept when there is one.
    """
    span = 2 ** DAY_BITS
    offset = f"(INT({_SD})-{DAY_ZERO})"  # kept within 0 .. 2^16 - 1 element by element
    day = f"IF({offset}<0,0,IF({offset}>{span - 1},{span - 1},{offset}))"
    done = f'({_SS}="Completed")*{_PAST}*(SessionSlot>0)'
    column("CumCompleted", "Completed sessions of this slot and those above", k,
           "IF({r}=3,0,{CumCompleted}{up})+INDEX(CountCompleted,{r}-1)",
           array=False, template=True)
    slots = f"ROW({SHEET}!$A$1:$A${k})"
    for which, value in (("Last", day), ("First", f"{span - 1}-{day}")):
        column(f"{which}Key", f"{which} search: the value of each Completed session", sessions,
               f"IF({done},{span}*SessionSlot+{value},{span * (k + 2)})")  # else: past every bin
        previous = None
        for b in reversed(range(DAY_BITS)):
            tag = f"{which}{b}"
            candidate = "0" if previous is None else \
                f"{SHEET}!${{{previous}}}$3:${{{previous}}}${k + 2}"
            column(f"{tag}Count", f"{which} search, bit {b}: sessions up to the try", k + 1,
                   f"FREQUENCY({which}Key,{span}*{slots}+{candidate}+{2 ** b - 1})",
                   template=True)
            column(f"{tag}Below", f"{which} search, bit {b}: summed down the slots", k,
                   "IF({r}=3,0,{%sBelow}{up})+{%sCount}{r}" % (tag, tag),
                   array=False, template=True)
            keep = "{%s}{r}" % previous if previous else "0"
            column(f"{tag}", f"{which} search, bit {b}: the candidate", k,
                   keep + "+IF({CumCompleted}{r}-{%sBelow}{r}>0,%d,0)" % (tag, 2 ** b),
                   array=False, template=True)
            previous = tag
        result = f"{DAY_ZERO}+{{{previous}}}{{r}}" if which == "Last" else \
            f"{DAY_ZERO}+{span - 1}-{{{previous}}}{{r}}"
        column(f"{which}Session", f"{which} Completed session (when there is one)", k,
               result, array=False, template=True)


def _define(wb, name: str, target: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=target)
