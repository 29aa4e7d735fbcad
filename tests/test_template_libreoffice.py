"""The proof: LibreOffice recalculates the template's native formulas and gets, for every
client, exactly what the pandas engine computes (money to the cent, scores to 1e-9).

The demo book gets extra clients for the edge cases (no sessions, only cancellations, a
referral chain, two sessions on one day, an unknown referrer, sessions on and after the as-of
day, ...). One LibreOffice run per book, shared by the module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from clv_xl.engine import churn
from clv_xl.demo import demo_data
from clv_xl.engine.metrics import client_metrics, segment_summary
from clv_xl.book.schema import (CLIENTS, CONTACTS, METRIC_COLUMNS, NO_SEGMENT, RISK_BANDS,
                                 SESSIONS)
from clv_xl.book.settings import Settings
from clv_xl.template import build_template
from clv_xl.template.dashboard import (ALL_LABEL, BAND_ROW, KPI_FIRST_ROW, KPIS, MONTH_ROW,
                                       MONTHS, OTHER_LABEL, SEGMENT_HEADERS, segment_rows)
from clv_xl.template.formulas import COMPUTED
from clv_xl.template.inputs import settings_rows

from libreoffice import recalculate, require_soffice

AS_OF = dt.date(2026, 6, 30)
D = pd.Timestamp


def _edge_cases():
    """(clients, sessions, contacts) rows for the cases a random book may miss."""
    c = [  # client_id, segment, first_contact, acquisition_cost, referred_by
        ("X-NOSESS", "Family", D("2026-01-10"), 40.0, None),
        ("X-CANC", "Portrait", D("2025-09-01"), None, None),
        ("X-CHAIN1", "Wedding", D("2024-01-05"), 100.0, None),
        ("X-CHAIN2", "Wedding", D("2024-03-05"), 0.0, "X-CHAIN1"),
        ("X-CHAIN3", "Family", D("2024-05-05"), 0.0, "X-CHAIN2"),
        ("X-SAMEDAY", "Newborn", D("2025-11-01"), 25.5, None),
        ("X-UNKNOWN", "Family", D("2025-02-02"), 10.0, "NOPE-01"),
        ("X-NODATE", "Corporate", None, None, None),
        ("X-ASOF", "Corporate", D("2025-01-15"), 80.0, None),
        ("X-LAPSED", "Gift", D("2022-12-01"), 60.0, None),
        ("X-REPLIES", None, D("2024-02-01"), 30.0, None),
    ]
    clients = pd.DataFrame(c, columns=["client_id", "segment", "first_contact",
                                       "acquisition_cost", "referred_by"])
    clients["name"] = "Edge " + clients["client_id"]
    clients["channel"] = "Website"
    clients["notes"] = None
    s = [  # date, client_id, amount, status
        ("2025-12-01", "X-CANC", 0.0, "Cancelled"), ("2026-02-01", "X-CANC", 0.0, "Cancelled"),
        ("2024-02-01", "X-CHAIN1", 900.0, "Completed"),
        ("2024-04-01", "X-CHAIN2", 450.55, "Completed"),
        ("2025-04-01", "X-CHAIN2", 300.0, "Completed"),
        ("2024-06-01", "X-CHAIN3", 199.99, "Completed"),
        ("2025-11-20", "X-SAMEDAY", 150.0, "Completed"),
        ("2025-11-20", "X-SAMEDAY", 99.5, "Completed"),
        ("2025-12-20", "X-SAMEDAY", 0.0, "Rescheduled"),
        ("2025-06-30", "X-ASOF", 500.0, "Completed"),  # exactly one window before: not recent
        ("2026-06-30", "X-ASOF", 520.0, "Completed"),
        ("2026-06-30", "X-ASOF", None, "Booked"),
        ("2026-07-15", "X-ASOF", 999.0, "Completed"),  # after as-of: ignored
        ("2026-08-01", "X-UNKNOWN", None, "Booked"),
        ("2025-05-01", "X-UNKNOWN", 120.0, "Completed"),
        ("2025-05-02", "X-UNKNOWN", None, "Completed"),  # blank amount counts as 0
        ("2023-01-01", "X-LAPSED", 300.0, "Completed"),
        ("2023-03-01", "X-LAPSED", 300.0, "Completed"),
        ("2024-03-01", "X-REPLIES", 250.0, "Completed"),
        ("2025-03-01", "X-REPLIES", 250.0, "Completed"),
        ("2026-01-01", "GHOST", 1000.0, "Completed"),  # no such client: ignored
    ]
    sessions = pd.DataFrame(s, columns=["date", "client_id", "amount", "status"])
    sessions["date"] = pd.to_datetime(sessions["date"])
    sessions["package"] = "Edge"
    k = [  # date, client_id, direction, replied
        ("2026-02-01", "X-NOSESS", "Out", "No"),
        ("2026-03-01", "X-NOSESS", "In", None),
        ("2024-05-01", "X-REPLIES", "Out", "Yes"), ("2024-06-01", "X-REPLIES", "Out", "No"),
        ("2024-07-01", "X-REPLIES", "Out", "Yes"), ("2024-08-01", "X-REPLIES", "Out", "No"),
        ("2025-06-30", "X-REPLIES", "Out", "Yes"),  # on the window's edge: earlier
        ("2025-07-01", "X-REPLIES", "Out", "No"), ("2026-06-30", "X-REPLIES", "Out", "Yes"),
        ("2026-07-01", "X-REPLIES", "Out", "No"),  # after as-of: ignored
        ("2025-10-01", "X-CHAIN1", "Out", "No"),
    ]
    contacts = pd.DataFrame(k, columns=["date", "client_id", "direction", "replied"])
    contacts["date"] = pd.to_datetime(contacts["date"])
    contacts["channel"] = "Email"
    return clients, sessions, contacts


def _book_data():
    demo = demo_data(as_of=AS_OF)
    extra = _edge_cases()
    frames = [pd.concat([base, more[base.columns]], ignore_index=True)
              for base, more in zip((demo.clients, demo.sessions, demo.contacts), extra)]
    return dataclasses.replace(demo, clients=frames[0], sessions=frames[1], contacts=frames[2])


def _sheet(wb, name, header_row=1):
    rows = list(wb[name].iter_rows(min_row=header_row, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """(data, engine metrics, recalculated workbook read with data_only=True)."""
    require_soffice()
    folder = tmp_path_factory.mktemp("lo")
    data = _book_data()
    source = build_template(folder / "clv_edge.xlsx", data)
    values = load_workbook(recalculate(source, folder / "out"), data_only=True)
    metrics = client_metrics(data.clients, data.sessions, data.contacts,
                             Settings(as_of=data.as_of))
    return data, metrics, values


@pytest.fixture(scope="module")
def excel(book):
    """The Clients table as LibreOffice computed it, indexed by Client ID."""
    frame = _sheet(book[2], CLIENTS.name)
    return frame[frame["Client ID"].notna()].set_index("Client ID")


def _expected(metrics: pd.DataFrame) -> pd.DataFrame:
    """The engine's figures, plus the helper columns derived the engine's way."""
    s = Settings(as_of=AS_OF)
    m = metrics.copy()
    m["gap_ratio"] = m["days_since"] / m["rhythm"]
    m["acquisition_cost_used"] = m["acquisition_cost"]
    m["cancel_share"] = (m["recent_cancelled"] / m["recent_bookings"]).where(
        m["recent_bookings"] > 0, 0.0)
    m["overdue_sign"] = churn.overdue_sign(m["days_since"], m["rhythm"], m["upcoming"] > 0, s)
    now = m["recent_replied"] / m["recent_out"].where(m["recent_out"] > 0)
    before = m["earlier_replied"] / m["earlier_out"].where(m["earlier_out"] > 0)
    m["reply_sign"] = churn.reply_sign(now, before)
    has = m["completed"] > 0
    m["age_days"] = (D(AS_OF) - m["first_session"]).dt.days.where(has)
    m["hist_days"] = m["days_since"].where(has)
    native = metrics.attrs["native_churn"]
    for key, center in zip(("curve_guess", "curve_step1"), native["centers"]):
        m[key] = churn.recency_probability(m["hist_days"].to_numpy(), center)
    return m


def _blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value)) \
        or value is pd.NaT


def _mismatches(key, expected: pd.Series, actual: pd.Series) -> list[str]:
    money = key in ("revenue", "avg_order_value", "clv", "tlv", "referral_revenue",
                    "acquisition_cost_used")
    bad = []
    for client, want in expected.items():
        got = actual.get(client)
        if _blank(want) or _blank(got):
            ok = _blank(want) and _blank(got)
        elif isinstance(want, (pd.Timestamp, dt.date)):
            ok = pd.Timestamp(got) == pd.Timestamp(want)
        elif isinstance(want, str):
            ok = got == want
        elif money:
            ok = abs(float(got) - float(want)) < 0.005
        else:
            ok = abs(float(got) - float(want)) <= 1e-9
        if not ok:
            bad.append(f"{key} {client}: engine {want!r}, LibreOffice {got!r}")
    return bad


def test_no_formula_errors_anywhere(book):
    errors = [f"{ws.title}!{cell.coordinate}: {cell.value}"
              for ws in book[2].worksheets for row in ws.iter_rows() for cell in row
              if isinstance(cell.value, str) and (cell.value.startswith("#")
                                                  or cell.value.startswith("Err:"))]
    assert errors == []


def test_every_metric_column_is_computed_in_the_book():
    assert set(METRIC_COLUMNS) <= {c.key for c in COMPUTED}


@pytest.mark.parametrize("column", COMPUTED, ids=lambda c: c.key)
def test_column_equals_the_engine(book, excel, column):
    expected = _expected(book[1])
    assert list(excel.index) == list(expected.index)
    assert _mismatches(column.key, expected[column.key], excel[column.header]) == []


def test_edge_cases_come_out_as_designed(excel):
    row = excel.loc
    assert row["X-NOSESS", "Stage"] == "Prospect" and row["X-NOSESS", "Main reason"] == \
        "Fewer replies"
    assert row["X-CANC", "Completed"] == 0 and row["X-CANC", "Cancel share"] == 1
    assert row["X-CHAIN1", "TLV"] == pytest.approx(900 + 750.55)
    assert row["X-CHAIN2", "TLV"] == pytest.approx(750.55 + 199.99)
    assert _blank(row["X-SAMEDAY", "Usual interval (days)"])
    assert row["X-SAMEDAY", "Completed"] == 2
    assert row["X-UNKNOWN", "TLV"] == row["X-UNKNOWN", "Revenue"] == 120
    assert _blank(row["X-NODATE", "Days since"])
    assert row["X-ASOF", "Upcoming"] == 1 and row["X-ASOF", "Recent bookings"] == 2
    # three years without a session: near-certain churn, and lapsed (no booking)
    assert row["X-LAPSED", "Stage"] == "Lapsed" and row["X-LAPSED", "Risk band"] == "High"
    assert row["X-LAPSED", "Warning-sign score"] == pytest.approx(0.6)
    assert _blank(row["X-NOSESS", "Churn risk"]) and _blank(row["X-NOSESS", "Risk band"])
    assert row["X-REPLIES", "Reply sign"] == pytest.approx(0.6 - 0.5)


def test_segments_equal_the_engine(book):
    metrics = book[1]
    table = segment_summary(metrics)
    sheet = _sheet(book[2], "Segments", header_row=4).set_index("Segment")
    names = {OTHER_LABEL: NO_SEGMENT}
    columns = {"Clients": "clients", "Total CLV": "clv_total", "Average CLV": "clv_avg",
               "Average TLV": "tlv_avg", "Revenue": "revenue",
               "Sessions per client": "sessions_per_client",
               "Share at risk": "share_high_risk", "Avg order value": "avg_order_value"}
    assert set(columns) <= set(SEGMENT_HEADERS)
    for segment in table.index:
        got = sheet.loc[{v: k for k, v in names.items()}.get(segment, segment)]
        for header, key in columns.items():
            assert got[header] == pytest.approx(table.loc[segment, key], abs=0.005), \
                (segment, header)
    everyone = sheet.loc[ALL_LABEL]
    assert everyone["Clients"] == len(metrics)
    assert everyone["Total CLV"] == pytest.approx(metrics["clv"].sum(), abs=0.005)
    assert everyone["Total TLV"] == pytest.approx(metrics["tlv"].sum(), abs=0.005)
    assert segment_rows()["other"] - segment_rows()["first"] == len(sheet.loc[:OTHER_LABEL]) - 1


def test_dashboard_equals_pandas(book):
    data, metrics, values = book
    ws = values["Dashboard"]
    kpi = {label: ws[f"C{KPI_FIRST_ROW + i}"].value for i, (label, *_) in enumerate(KPIS)}
    stages = metrics["lifecycle_stage"]
    s = data.sessions
    done = s[(s["status"] == "Completed") & (s["date"] <= D(AS_OF))]
    last_year = done[done["date"] > D(AS_OF) - pd.DateOffset(months=12)]
    assert kpi["Clients"] == len(metrics)
    assert kpi["Active clients"] == stages.isin(["New", "Retained", "At risk"]).sum()
    assert kpi["At risk"] == (stages == "At risk").sum()
    assert kpi["Total CLV"] == pytest.approx(metrics["clv"].sum(), abs=0.005)
    assert kpi["Average CLV"] == pytest.approx(metrics["clv"].mean(), abs=0.005)
    assert kpi["CLV:CAC ratio"] == pytest.approx(
        metrics["clv"].sum() / metrics["acquisition_cost"].sum())
    assert kpi["Revenue, last 12 months"] == pytest.approx(last_year["amount"].sum(), abs=0.005)
    for i, band in enumerate(RISK_BANDS, start=1):
        assert ws[f"B{BAND_ROW + i}"].value == band
        assert ws[f"C{BAND_ROW + i}"].value == (metrics["risk_band"] == band).sum()
    months = done.groupby(done["date"].dt.to_period("M"))["amount"].sum()
    for i in range(MONTHS):
        start = ws[f"B{MONTH_ROW + 1 + i}"].value
        want = months.get(pd.Period(start, "M"), 0.0)
        assert ws[f"C{MONTH_ROW + 1 + i}"].value == pytest.approx(want, abs=0.005), start
    assert pd.Period(ws[f"B{MONTH_ROW + MONTHS}"].value, "M") == pd.Period(AS_OF, "M")


def test_the_empty_template_computes_without_errors(tmp_path):
    require_soffice()
    out = recalculate(build_template(tmp_path / "empty.xlsx"), tmp_path / "out")
    wb = load_workbook(out, data_only=True)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if isinstance(c.value, str)
                and (c.value.startswith("#") or c.value.startswith("Err:"))]
    assert wb["Dashboard"][f"C{KPI_FIRST_ROW}"].value == 0
    rows = settings_rows()
    assert wb["Settings"][f"B{rows['as_of_date']}"].value.date() == dt.date.today()
    assert wb["Settings"][f"B{rows['settings_check']}"].value == "OK"


# --- rows typed or appended below the tables (as LibreOffice and scripts do) -------------------

def _fill_like_a_script(path, data):
    """Clients typed into the Clients table's blank rows; Sessions and Contacts appended below
    their (one-row) tables, as LibreOffice, which does not grow a table, and openpyxl leave
    them."""
    wb = load_workbook(path)
    for sheet, frame in ((CLIENTS, data.clients), (SESSIONS, data.sessions),
                         (CONTACTS, data.contacts)):
        ws = wb[sheet.name]
        table = ws.tables[sheet.table]
        first = 2 if sheet is CLIENTS else int(table.ref.split(":")[1].lstrip("ABCDEFGHIJ")) + 1
        for i, row in enumerate(frame[sheet.keys].itertuples(index=False)):
            for j, value in enumerate(row, start=1):
                ws.cell(first + i, j, None if pd.isna(value) else
                        value.to_pydatetime() if isinstance(value, pd.Timestamp) else value)
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def appended(tmp_path_factory):
    """(data, engine metrics, recalculated book) of the empty template filled like a script."""
    require_soffice()
    folder = tmp_path_factory.mktemp("appended")
    demo = demo_data(n_clients=150, as_of=AS_OF)
    extra = _edge_cases()
    frames = [pd.concat([base, more[base.columns]], ignore_index=True)
              for base, more in zip((demo.clients, demo.sessions, demo.contacts), extra)]
    data = dataclasses.replace(demo, clients=frames[0], sessions=frames[1], contacts=frames[2])
    book = _fill_like_a_script(build_template(folder / "filled.xlsx", as_of=AS_OF), data)
    values = load_workbook(recalculate(book, folder / "out"), data_only=True)
    metrics = client_metrics(data.clients, data.sessions, data.contacts,
                             Settings(as_of=data.as_of))
    return data, metrics, values


def test_rows_appended_below_the_tables_are_counted(appended):
    data, metrics, values = appended
    assert values[SESSIONS.name].tables[SESSIONS.table].ref == "A1:E2"  # the table never grew
    frame = _sheet(values, CLIENTS.name)
    excel = frame[frame["Client ID"].notna()].set_index("Client ID")
    expected = _expected(metrics)
    assert list(excel.index) == list(expected.index)
    bad = [m for column in COMPUTED
           for m in _mismatches(column.key, expected[column.key], excel[column.header])]
    assert bad == []
    kpi = {label: values["Dashboard"][f"C{KPI_FIRST_ROW + i}"].value
           for i, (label, *_) in enumerate(KPIS)}
    assert kpi["Total CLV"] == pytest.approx(metrics["clv"].sum(), abs=0.005)
    assert values["Settings"][f"B{settings_rows()['data_check']}"].value == "OK"


def test_a_client_below_the_clients_table_is_flagged(tmp_path):
    require_soffice()
    path = build_template(tmp_path / "beyond.xlsx", as_of=AS_OF)
    wb = load_workbook(path)
    ws = wb[CLIENTS.name]
    below = int(ws.tables[CLIENTS.table].ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    ws.cell(below + 1, 1, "LATE-1")
    wb.save(path)
    values = load_workbook(recalculate(path, tmp_path / "out"), data_only=True)
    check = values["Settings"][f"B{settings_rows()['data_check']}"].value
    assert check.startswith("Clients has rows the formulas do not read: run clv-xl grow")
    assert values["Dashboard"]["D3"].value == check
