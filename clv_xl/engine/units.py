"""The model time units and their true length in days (a month is 365.25 / 12 days)."""

DAYS_PER_MONTH = 365.25 / 12.0

#: The units a book or a formula may choose, by name.
UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH}


def fold(text) -> str:
    """A name as compared: case, spaces and punctuation ignored ("Client_ID" = "client id")."""
    return "".join(ch for ch in str(text).lower() if ch.isalnum())
