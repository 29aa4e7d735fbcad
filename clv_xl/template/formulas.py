"""The Excel formulas of the template, as strings: the engine's arithmetic, cell by cell.

Every computed column of the Clients table is declared here once, with its header, number
format and formula. Formulas are written for Excel 2019/365 *and* LibreOffice 7.4:

- same-row references are ``Clients[[#This Row],[Header]]`` (``[@Header]`` fails in 7.4);
- MINIFS/MAXIFS carry the ``_xlfn.`` prefix (openpyxl does not add it);
- no XLOOKUP, LET, FILTER or other spilling functions.

A formula template names other columns by key in braces, ``{completed}``; input columns by
their schema key (``{first_contact}``), computed ones by the key declared below. Settings are
used through their workbook names (``Margin``), plus the derived names of :data:`DERIVED`.
Each computed cell is blank while the row's Client ID is blank.

The arithmetic follows :func:`clv_xl.engine.metrics.client_metrics` step by step; the template
test recalculates the demo book in LibreOffice and compares every column with the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..book.schema import (CLIENTS, CONTACTS, LABELS, NO_REASON, REASONS, RISK_BANDS, SESSIONS,
                      SETTING_BY_KEY)
from . import calc, styles


def name(key: str) -> str:
    """The workbook name of a setting, e.g. ``margin`` -> ``Margin``."""
    return SETTING_BY_KEY[key].defined_name


def column_ref(sheet, key: str) -> str:
    """A whole table column, e.g. ``Sessions[Client ID]``."""
    return f"{sheet.table}[{sheet.column(key).header}]"


def this_row(table: str, header: str) -> str:
    """The same-row reference in the form LibreOffice 7.4 understands."""
    return f"{table}[[#This Row],[{header}]]"


@dataclass(frozen=True)
class Derived:
    """A value computed from the settings, shown on the Settings sheet under a name."""

    key: str
    label: str
    defined_name: str
    formula: str
    number_format: str
    help: str


_W = [name(k) for k in ("weight_overdue", "weight_cancellations", "weight_replies")]
_W_SUM = "(" + "+".join(_W) + ")"

#: Values the formulas use, computed once on the Settings sheet.
DERIVED: tuple[Derived, ...] = (
    Derived("as_of_date", "As-of date in use", "AsOfDate",
            f'IF({name("as_of")}="",TODAY(),INT({name("as_of")}))', styles.DATE_FORMAT,
            "The as-of date above, or today when it is blank."),
    Derived("window_start", "Recent window starts after", "WindowStart",
            f"AsOfDate-{name('recent_days')}", styles.DATE_FORMAT,
            "'Recently' means after this day, up to and including the as-of date."),
    Derived("share_overdue", "Share of weight: overdue", "ShareOverdue",
            f"{_W[0]}/{_W_SUM}", styles.PERCENT_FORMAT, "The overdue weight over all three."),
    Derived("share_cancellations", "Share of weight: cancellations", "ShareCancellations",
            f"{_W[1]}/{_W_SUM}", styles.PERCENT_FORMAT,
            "The cancellations weight over all three."),
    Derived("share_replies", "Share of weight: fewer replies", "ShareReplies",
            f"{_W[2]}/{_W_SUM}", styles.PERCENT_FORMAT, "The replies weight over all three."),
    Derived("settings_check", "Settings check", "SettingsCheck",
            f'IF({name("overdue_full")}<={name("overdue_start")},'
            f'"Overdue is full at must be larger than Overdue starts at",'
            f'IF({name("band_high")}<{name("band_medium")},'
            f'"High risk from must not be below Medium risk from",'
            f'IF({_W_SUM}<=0,"At least one weight must be above 0","OK")))', "General",
            "OK, or what to fix: the engine refuses the same settings."),
    Derived("data_check", "Data check", "DataCheck",
            'IF(OR(COUNTA(ClientsBeyond)>0,ROWS(Clients[Client ID])>ROWS(ClientRows)),'
            '"Clients has rows the formulas do not read: run clv-xl grow on this book",'
            + "".join(f'IF(COUNTA({sheet}Beyond)>0,"{sheet} has rows beyond row "&'
                      f'(ROWS({slot})+1)&", which the formulas do not read: run clv-xl grow '
                      f'on this book",' for sheet, slot in (("Sessions", "SessionSlot"),
                                                           ("Contacts", "ContactSlot")))
            + f'IF(COUNTIF(SessionsAmount,">{calc.MAX_AMOUNT}"),"An amount in Sessions is '
            f'above {calc.MAX_AMOUNT:,.2f}, too large for the book\'s sums","OK"))))', "General",
            "OK, or rows the formulas cannot count as they are (see docs/template.md)."),
)


@dataclass(frozen=True)
class Computed:
    """One computed column of the Clients table."""

    key: str
    header: str
    template: str
    number_format: str
    help: str
    width: float = 11.0
    helper: bool = False  # an intermediate quantity, grouped at the right


# The rows of the logs the formulas read (fixed blocks sized ahead: see calc.py).
S_DATE, S_STATUS, S_AMOUNT = (calc.input_name(SESSIONS, k) for k in ("date", "status", "amount"))
_PARTS = ("{overdue_sign}*ShareOverdue", "{cancel_share}*ShareCancellations",
          "{reply_sign}*ShareReplies")


def _literal(text: str) -> str:
    """A formula part with no {key} references, escaped for the templates below."""
    return text.replace("{", "{{").replace("}", "}}")


def _count(key: str, header: str, help: str, fmt=None, helper=False, width=11.0) -> "Computed":
    """A count read from the Calc sheet's FREQUENCY of that name."""
    return Computed(key, header, calc.client_count(key), fmt or styles.COUNT_FORMAT, help,
                    width=width, helper=helper)


_C = styles.COUNT_FORMAT
_M = styles.MONEY_FORMAT
_D = styles.DATE_FORMAT
_N = styles.NUMBER_FORMAT

#: The computed columns, in sheet order: the figures first, then the helpers. The header
#: given here is used only where schema.LABELS has none (or its label is an input header).
_DECLARED: tuple[Computed, ...] = (
    _count("completed", "Completed", "Completed sessions on or before the as-of date."),
    _count("cancelled", "Cancelled", "Cancelled sessions on or before the as-of date."),
    _count("rescheduled", "Rescheduled", "Rescheduled sessions on or before the as-of date.",
           width=12),
    Computed("revenue", "Revenue", _literal(calc.client_revenue()), _M,
             "What the client paid for completed sessions."),
    Computed("avg_order_value", "Avg order value",
             'IF({completed}>0,{revenue}/{completed},"")', _M,
             "Revenue per completed session.", width=12),
    Computed("last_session", "Last session",
             f'IF({{completed}}>0,{_literal(calc.client_session_date("last"))},"")', _D,
             "The last completed session.", width=12),
    Computed("days_since", "Days since",
             'IF({completed}>0,AsOfDate-{last_session},'
             'IF({first_contact}="","",AsOfDate-{first_contact}))', _C,
             "Days from the last completed session (or, with none, the first contact) "
             "to the as-of date."),
    Computed("clv", "CLV", f"({{revenue}}-{{acquisition_cost_used}})*{name('margin')}", _M,
             "Lifetime value to date: (revenue - acquisition cost) x gross margin.", width=12),
    Computed("tlv", "TLV", "{revenue}+{referral_revenue}", _M,
             "Total life value: own revenue plus the revenue of the clients they referred.",
             width=12),
    Computed("churn_risk", "Churn risk",
             'IF({hist_days}="","",{hist_days}^2/({hist_days}^2+ChurnCenter^2)'
             '*IF({booked_in_horizon}>0,FailShare,1))', styles.PERCENT_FORMAT,
             "The chance of no completed session within the churn horizon: days since on a "
             "curve scaled to the business's lapsed share (less when a session is booked).",
             width=10),
    Computed("risk_band", "Risk band",
             f'IF({{churn_risk}}="","",IF({{churn_risk}}>={name("band_high")},"{RISK_BANDS[2]}",'
             f'IF({{churn_risk}}>={name("band_medium")},"{RISK_BANDS[1]}","{RISK_BANDS[0]}")))',
             "General", "Low, Medium or High churn risk, by the thresholds in Settings."),
    Computed("warning_score", "Warning-sign score", "+".join(_PARTS), _N,
             "0 to 1: the weighted warning signs (overdue, cancellations, fewer replies); "
             "the Main reason comes from it.", width=12),
    Computed("main_reason", "Main reason",
             f'IF({{warning_score}}>0,IF(AND({_PARTS[0]}>={_PARTS[1]},{_PARTS[0]}>={_PARTS[2]}),'
             f'"{REASONS[0]}",IF({_PARTS[1]}>={_PARTS[2]},"{REASONS[1]}","{REASONS[2]}")),'
             f'"{NO_REASON}")',
             "General", "The warning sign that adds most to the warning-sign score.", width=16),
    Computed("lifecycle_stage", "Stage",
             f'IF({{completed}}<1,"Prospect",IF({{risk_band}}="{RISK_BANDS[2]}",'
             f'IF(AND({{gap_ratio}}>={name("lapsed_after")},{{upcoming}}=0),"Lapsed","At risk"),'
             f'IF({{completed}}=1,"New","Retained")))',
             "General", "Prospect, New, Retained, At risk (High churn risk) or Lapsed (High "
             "churn risk, no session for 'Lapsed after' rhythms and none booked)."),
    # --- helpers -----------------------------------------------------------------------
    Computed("first_session", "First session",
             f'IF({{completed}}>0,{_literal(calc.client_session_date("first"))},"")', _D,
             "The first completed session.", helper=True),
    _count("upcoming", "Booked ahead", "Booked sessions dated on or after the as-of date.",
           helper=True),
    _count("recent_bookings", "Recent bookings", "Sessions of any status in the recent window.",
           helper=True),
    _count("recent_cancelled", "Recent cancelled",
           "Of those, how many were cancelled or rescheduled.", helper=True),
    Computed("interval_days", "Interval days",
             'IF({completed}>1,IF({last_session}>{first_session},'
             '({last_session}-{first_session})/({completed}-1),""),"")', _N,
             "The client's usual days between sessions (needs two on different days).",
             helper=True),
    Computed("rhythm", "Rhythm days",
             'IF({interval_days}="",BusinessRhythm,{interval_days})', _N,
             "The usual interval, or the business's (Settings: Business rhythm) with fewer "
             "than two sessions.", helper=True),
    Computed("gap_ratio", "Gap in rhythms", 'IF({days_since}="","",{days_since}/{rhythm})', _N,
             "Days since, in usual intervals.", helper=True),
    Computed("acquisition_cost_used", "Cost used",
             f'IF({{acquisition_cost}}="",{name("default_acquisition_cost")},'
             f"{{acquisition_cost}})", _M,
             "The acquisition cost, or the default in Settings when blank.", helper=True),
    _count("referrals", "Referrals", "Clients whose 'Referred by' names this client.",
           helper=True),
    Computed("referral_revenue", "Referral revenue",
             f"IF({{referrals}}=0,0,SUMIF({column_ref(CLIENTS, 'referred_by')},{{client_id}},"
             "Clients[Revenue]))", _M,
             "The revenue of those clients (looked up only for clients who referred someone).",
             helper=True),
    _count("recent_out", "Recent out", "Your messages in the recent window.", helper=True),
    _count("recent_replied", "Recent replied", "Of those, how many the client replied to.",
           helper=True),
    _count("earlier_out", "Earlier out", "Your messages before the recent window.",
           helper=True),
    _count("earlier_replied", "Earlier replied", "Of those, how many the client replied to.",
           helper=True),
    Computed("cancel_share", "Cancel share",
             'IF({recent_bookings}>0,{recent_cancelled}/{recent_bookings},0)', _N,
             "Warning sign: share of recent bookings cancelled or rescheduled.", helper=True),
    Computed("overdue_sign", "Overdue sign",
             f'IF({{upcoming}}>0,0,IF({{gap_ratio}}="",0,MAX(0,MIN(1,({{gap_ratio}}-'
             f'{name("overdue_start")})/({name("overdue_full")}-{name("overdue_start")})))))', _N,
             "Warning sign: 0 up to 'overdue starts', 1 from 'overdue is full'; 0 when booked.",
             helper=True),
    Computed("reply_sign", "Reply sign",
             'IF({recent_out}=0,0,MAX(0,IF({earlier_out}=0,1,{earlier_replied}/{earlier_out})'
             '-{recent_replied}/{recent_out}))', _N,
             "Warning sign: how far the reply rate fell (earlier 100% when no earlier messages).",
             helper=True),
    Computed("age_days", "Age days", 'IF({completed}>0,AsOfDate-{first_session},"")', _C,
             "Days from the first completed session to the as-of date.", helper=True),
    Computed("hist_days", "Hist days", 'IF({completed}>0,{days_since},"")', _C,
             "Days since, for clients with a completed session (the churn curve's input).",
             helper=True),
    Computed("curve_guess", "Curve first guess",
             'IF({hist_days}="","",{hist_days}^2/({hist_days}^2+CenterGuess^2))', _N,
             "The churn curve at the first guess of its centre.", helper=True),
    Computed("curve_step1", "Curve step 1",
             'IF({hist_days}="","",{hist_days}^2/({hist_days}^2+CenterStep1^2))', _N,
             "The churn curve after one correction of its centre.", helper=True),
    _count("booked_in_horizon", "Booked in horizon",
           "Booked sessions dated from the as-of date to the end of the churn horizon.",
           helper=True),
)

COMPUTED: tuple[Computed, ...] = tuple(
    replace(c, header=LABELS[c.key]) if LABELS.get(c.key, CLIENTS.headers[0]) not in CLIENTS.headers
    else c for c in _DECLARED)
COMPUTED_BY_KEY = {c.key: c for c in COMPUTED}
assert not set(COMPUTED_BY_KEY) & set(CLIENTS.keys), "computed keys clash with input keys"
assert len({c.header for c in COMPUTED} | set(CLIENTS.headers)) == len(COMPUTED) + len(
    CLIENTS.columns), "duplicate Clients headers"


def _header_of(key: str) -> str:
    if key in COMPUTED_BY_KEY:
        return COMPUTED_BY_KEY[key].header
    return CLIENTS.column(key).header


class _Refs(dict):
    def __missing__(self, key):
        return this_row(CLIENTS.table, _header_of(key))


def client_formula(column: Computed) -> str:
    """The formula of one computed Clients column (without the leading '='), blank on rows
    without a Client ID."""
    body = column.template.format_map(_Refs())
    client_id = this_row(CLIENTS.table, CLIENTS.column("client_id").header)
    return f'IF({client_id}="","",{body})'


def _col(key: str) -> str:
    """A whole Clients column, e.g. ``Clients[Hist days]``."""
    return f"{CLIENTS.table}[{_header_of(key)}]"


_HIST, _AGE = _col("hist_days"), _col("age_days")
_CHURN_INPUTS = (
    ("horizon_days", "Churn horizon (days)", "HorizonDays",
     f"{name('churn_horizon_months')}*365.25/12", _N, "The churn horizon in days."),
    ("first_day", "First completed session", "FirstDay",
     f"MIN({_col('first_session')})", styles.DATE_FORMAT,
     "The first completed session of any client (0 when none)."),
    ("window_days", "Lapsed window (days)", "WindowDays",
     "MIN(HorizonDays,(AsOfDate-FirstDay)/2)", _N,
     "The churn horizon, or half the history when that is shorter."),
    ("business_rhythm", "Business rhythm (days)", "BusinessRhythm",
     f"IF(COUNT({_col('interval_days')})=0,{name('default_interval_days')},"
     f"MEDIAN({_col('interval_days')}))", _N,
     "The median usual interval of the clients; the rhythm of clients with fewer than two "
     "sessions (the default in Settings when no client has two)."),
    ("old_clients", "Clients seen a window ago", "OldClients",
     f'COUNTIF({_AGE},">="&WindowDays)', styles.COUNT_FORMAT,
     "Clients whose first completed session is a lapsed window ago or more."),
    ("lapsed_share", "Lapsed share", "LapsedShare",
     f'IF(OldClients<10,0.5,MIN(0.99,MAX(0.01,COUNTIFS({_AGE},">="&WindowDays,{_HIST},'
     f'">="&WindowDays)/OldClients)))', styles.PERCENT_FORMAT,
     "Of those clients, the share with no session in the window (50% with fewer than 10): "
     "the mean churn risk the curve aims at."),
    ("center_guess", "Churn curve centre, first guess (days)", "CenterGuess",
     f"IF(COUNT({_HIST})=0,1,MAX(1,PERCENTILE({_HIST},1-LapsedShare)))", _N,
     "The days since that the lapsed share of clients exceed."),
    ("center_step1", "Churn curve centre, step 1 (days)", "CenterStep1",
     f"IF(COUNT({_HIST})=0,1,CenterGuess*(AVERAGE({_col('curve_guess')})/LapsedShare)^0.5)", _N,
     "The centre corrected so the mean churn risk moves toward the lapsed share."),
    ("churn_center", "Churn curve centre (days)", "ChurnCenter",
     f"IF(COUNT({_HIST})=0,1,CenterStep1*(AVERAGE({_col('curve_step1')})/LapsedShare)^0.5)", _N,
     "The days since at which the churn risk is 50% (second correction)."),
    ("fail_share", "Bookings that fall through", "FailShare",
     f"MAX(0.05,SUM({_col('cancelled')})/MAX(1,SUM({_col('completed')})"
     f"+SUM({_col('cancelled')})))", styles.PERCENT_FORMAT,
     "Cancelled over completed and cancelled sessions (at least 5%): the churn risk of a "
     "client with a session booked within the horizon is multiplied by it."),
)
#: The scalars of the native churn risk (docs/template.md), each computed once.
DERIVED = DERIVED + tuple(Derived(*row) for row in _CHURN_INPUTS)
