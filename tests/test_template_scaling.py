"""The template's recalculation grows near-linearly with the book (issue 13).

LibreOffice recalculates the demo book at two sizes, 8 times apart; the CPU time LibreOffice
spends (the minimum of two runs each, so the machine's other load barely shows) may grow at
most as clients x log(rows). Work per client over every log row (COUNTIFS per client, as the
template once did) grows as clients x rows, 64 times here, and fails. The row blocks the
formulas read are sized to the data here (not to the template's defaults), so the time
follows the data and not the fixed blocks. ``bench/template.py`` measures bigger books.
"""

from __future__ import annotations

import math
import resource

import pytest

from clv_xl.demo import demo_data
from clv_xl.template import build_template, calc

from libreoffice import recalculate, require_soffice

SMALL, LARGE = 150, 1200
REPEATS = 2


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _recalculation_cpu(path, out) -> float:
    """LibreOffice's CPU seconds to open, recalculate and save ``path`` (minimum of runs)."""
    times = []
    for i in range(REPEATS):
        before = _cpu_of_children()
        recalculate(path, out / str(i))
        times.append(_cpu_of_children() - before)
    return min(times)


def test_recalculation_grows_at_most_as_clients_times_log_rows(tmp_path, monkeypatch):
    require_soffice()
    monkeypatch.setattr(calc, "SESSION_ROWS", 1)
    monkeypatch.setattr(calc, "CONTACT_ROWS", 1)
    measured = {}
    for n in (SMALL, LARGE):
        data = demo_data(n_clients=n)
        rows = len(data.clients) + len(data.sessions) + len(data.contacts)
        book = build_template(tmp_path / f"book{n}.xlsx", data)
        measured[n] = (rows, _recalculation_cpu(book, tmp_path / f"out{n}"))
    (rows_small, t_small), (rows_large, t_large) = measured[SMALL], measured[LARGE]
    print(f"CPU {t_small:.1f} s at {SMALL} clients, {t_large:.1f} s at {LARGE}")
    allowed = LARGE / SMALL * math.log(rows_large) / math.log(rows_small)
    assert t_large / t_small <= allowed, (
        f"{SMALL} clients: {t_small:.1f} s, {LARGE} clients: {t_large:.1f} s of CPU; "
        f"ratio {t_large / t_small:.1f}, allowed {allowed:.1f}")
