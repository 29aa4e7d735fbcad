"""The one declaration of the workbook: its input sheets, their columns, and the settings.

The template builder, the batch reader and the row validator all read this module, so a new
column is added here and nowhere else. Keys (``client_id``) name DataFrame columns; headers
(``Client ID``) are what the bookkeeper sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..engine.history import STATUSES
from ..engine.units import UNIT_DAYS


class Kind(str, Enum):
    """What a cell may hold."""

    TEXT = "text"
    ID = "id"  # a client id: text, unique in Clients
    CLIENT = "client"  # a reference to a Clients id
    DATE = "date"
    MONEY = "money"  # a number >= 0 in the book's currency
    NUMBER = "number"
    INTEGER = "integer"
    PERCENT = "percent"  # a fraction between 0 and 1, shown as a percentage
    CHOICE = "choice"  # one of ``choices``


NUMBER_KINDS = (Kind.MONEY, Kind.NUMBER, Kind.INTEGER, Kind.PERCENT)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()
    width: float = 14.0


@dataclass(frozen=True)
class Sheet:
    name: str
    table: str
    help: str
    columns: tuple[Column, ...]

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"{self.name} has no column {key!r}")


DIRECTIONS = ("Out", "In")
YES_NO = ("Yes", "No")
SEGMENTS = ("Family", "Newborn", "Wedding", "Portrait", "Corporate")

CLIENTS = Sheet(
    name="Clients",
    table="Clients",
    help="One row per client. The coloured columns to the right are computed.",
    columns=(
        Column("client_id", "Client ID", Kind.ID, "A short unique code, e.g. C0001.",
               required=True, width=11),
        Column("name", "Name", Kind.TEXT, "The client's name.", width=22),
        Column("segment", "Segment", Kind.TEXT,
               "A group to compare clients by, e.g. Family or Wedding.", width=12),
        Column("first_contact", "First contact", Kind.DATE,
               "The day the client first got in touch.", width=13),
        Column("channel", "Channel", Kind.TEXT,
               "Where the client came from, e.g. Instagram or Referral.", width=12),
        Column("acquisition_cost", "Acquisition cost", Kind.MONEY,
               "What winning this client cost (ads, discounts). Blank: the default in Settings.",
               width=12),
        Column("referred_by", "Referred by", Kind.CLIENT,
               "The Client ID of the client who sent them, if any.", width=11),
        Column("notes", "Notes", Kind.TEXT, "Anything worth remembering.", width=24),
    ),
)

SESSIONS = Sheet(
    name="Sessions",
    table="Sessions",
    help="One row per booking: completed, cancelled, rescheduled or still booked.",
    columns=(
        Column("date", "Date", Kind.DATE, "The day of the session.", required=True, width=12),
        Column("client_id", "Client ID", Kind.CLIENT, "A Client ID from the Clients sheet.",
               required=True, width=11),
        Column("package", "Package", Kind.TEXT, "What was booked, e.g. Mini session.", width=18),
        Column("amount", "Amount", Kind.MONEY,
               "What the client paid for a completed session (0 or more).", width=12),
        Column("status", "Status", Kind.CHOICE, "Completed, Cancelled, Rescheduled or Booked.",
               required=True, choices=STATUSES, width=13),
    ),
)

CONTACTS = Sheet(
    name="Contacts",
    table="Contacts",
    help="Messages to and from clients. For your messages (Out), say whether the client replied.",
    columns=(
        Column("date", "Date", Kind.DATE, "The day of the message.", required=True, width=12),
        Column("client_id", "Client ID", Kind.CLIENT, "A Client ID from the Clients sheet.",
               required=True, width=11),
        Column("channel", "Channel", Kind.TEXT, "Email, phone, SMS, ...", width=12),
        Column("direction", "Direction", Kind.CHOICE,
               "Out: you wrote to the client. In: the client wrote to you.",
               required=True, choices=DIRECTIONS, width=10),
        Column("replied", "Replied", Kind.CHOICE,
               "For Out messages: did the client reply? Yes or No.", choices=YES_NO, width=9),
    ),
)

INPUT_SHEETS = (CLIENTS, SESSIONS, CONTACTS)


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    kind: Kind
    default: object
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # for Kind.CHOICE: the allowed values (case ignored)

    @property
    def defined_name(self) -> str:
        """The workbook-scoped name of the input cell, e.g. ``Margin``."""
        return "".join(part.capitalize() for part in self.key.split("_"))


TIME_UNITS = tuple(UNIT_DAYS)

SETTINGS: tuple[Setting, ...] = (
    Setting("as_of", "As-of date", Kind.DATE, None,
            "The day the figures are computed for. Blank: today."),
    Setting("currency", "Currency", Kind.TEXT, "USD", "Shown beside money figures."),
    Setting("margin", "Gross margin", Kind.PERCENT, 0.6,
            "The share of revenue you keep after direct costs.", 0.0, 1.0),
    Setting("default_acquisition_cost", "Default acquisition cost", Kind.MONEY, 50.0,
            "Used for clients whose acquisition cost is blank.", 0.0),
    Setting("discount_rate", "Annual discount rate", Kind.PERCENT, 0.10,
            "How much less money a year from now is worth today.", 0.0, 1.0),
    Setting("default_interval_days", "Default days between sessions", Kind.NUMBER, 365.0,
            "The usual rhythm assumed for clients with fewer than two sessions.", 1.0),
    Setting("recent_days", "Recent window (days)", Kind.NUMBER, 365.0,
            "How far back 'recently' reaches for cancellations and replies.", 1.0),
    Setting("weight_overdue", "Weight: overdue", Kind.NUMBER, 0.6,
            "Weight of 'time since the last session against the client's rhythm'.", 0.0),
    Setting("weight_cancellations", "Weight: cancellations", Kind.NUMBER, 0.2,
            "Weight of 'share of recent bookings cancelled or rescheduled'.", 0.0),
    Setting("weight_replies", "Weight: fewer replies", Kind.NUMBER, 0.2,
            "Weight of 'drop in the reply rate to your messages'.", 0.0),
    Setting("overdue_start", "Overdue starts at (x rhythm)", Kind.NUMBER, 1.0,
            "The overdue sign starts rising when the gap passes this many usual intervals.", 0.0),
    Setting("overdue_full", "Overdue is full at (x rhythm)", Kind.NUMBER, 2.0,
            "The overdue sign reaches 1 at this many usual intervals.", 0.0),
    Setting("lapsed_after", "Lapsed after (x rhythm)", Kind.NUMBER, 3.0,
            "A client with no session for this many usual intervals is lapsed.", 0.0),
    Setting("band_medium", "Medium risk from", Kind.NUMBER, 0.33,
            "Churn risks from here up are Medium risk.", 0.0, 1.0),
    Setting("band_high", "High risk from", Kind.NUMBER, 0.66,
            "Churn risks from here up are High risk.", 0.0, 1.0),
    Setting("churn_horizon_months", "Churn horizon (months)", Kind.NUMBER, 12.0,
            "Churn risk is the chance of no completed session within this many months.",
            1.0, 120.0),
    Setting("time_unit", "Model time unit", Kind.CHOICE, "weeks",
            "The time unit the forecast models (BG/NBD, MBG/NBD) count in: days, weeks or "
            "months. Forecasts in 12 months barely change with it; weeks suit most books.",
            choices=TIME_UNITS),
)

SETTING_BY_KEY = {s.key: s for s in SETTINGS}

#: What the engine adds per client; the template computes the same columns in Excel.
METRIC_COLUMNS: tuple[str, ...] = (
    "completed", "cancelled", "rescheduled", "revenue", "avg_order_value", "last_session",
    "days_since", "clv", "tlv", "churn_risk", "risk_band", "main_reason", "lifecycle_stage",
)

#: Clients with a blank Segment, wherever they are grouped (engine, report, Segments sheet).
NO_SEGMENT = "(no segment)"

RISK_BANDS = ("Low", "Medium", "High")
REASONS = ("Overdue", "Cancellations", "Fewer replies")
NO_REASON = "No warning signs"
STAGES = ("Prospect", "New", "Retained", "At risk", "Lapsed")

#: Headings of the computed figures, wherever they are shown (formulas, sheets, reports).
LABELS = {
    "client_id": "Client ID", "segment": "Segment",
    "first_session": "First session", "last_session": "Last session",
    "completed": "Completed", "cancelled": "Cancelled", "rescheduled": "Rescheduled",
    "upcoming": "Upcoming", "revenue": "Revenue", "avg_order_value": "Avg order value",
    "interval_days": "Usual interval (days)", "days_since": "Days since",
    "acquisition_cost": "Acquisition cost", "clv": "CLV", "referrals": "Referrals",
    "tlv": "TLV", "churn_risk": "Churn risk", "warning_score": "Warning-sign score",
    "risk_band": "Risk band",
    "main_reason": "Main reason", "lifecycle_stage": "Stage",
    "frequency": "Frequency", "recency": "Recency (days)", "T": "Age (days)",
}
