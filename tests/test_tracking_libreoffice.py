"""LibreOffice draws the Dashboard's tracking chart with the data Recompute wrote: the chart's
series, as LibreOffice saves them, hold the Forecast sheet's tracking table, and the rendered
page shows the lines where the empty book shows none."""

from __future__ import annotations

import re
import shutil
import zipfile

import numpy as np
import pytest
from openpyxl import load_workbook

from libreoffice import read_ppm, recalculate, render_png, require_soffice

from clv_xl.book.layout import FORECAST_HEADER_ROW, TRACKING_FIRST_COLUMN, TRACKING_ROWS
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.template import build_template


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    require_soffice()
    folder = tmp_path_factory.mktemp("tracking_lo")
    before = build_template(folder / "before.xlsx", demo_data())
    after = folder / "after.xlsx"
    shutil.copy(before, after)
    assert main(["recompute", str(after)]) == 0
    return folder, before, after


def _series_caches(path) -> dict[str, list[float | None]]:
    """{series title: cached values} of the chart whose title says 'track', as saved."""
    with zipfile.ZipFile(path) as archive:
        for name in sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart")):
            xml = archive.read(name).decode("utf-8")
            if "track" not in xml:
                continue
            found = {}
            for ser in re.findall(r"<c:ser>([\s\S]*?)</c:ser>", xml):
                title = re.search(r"<c:tx>[\s\S]*?<c:v>([^<]*)</c:v>", ser).group(1)
                values = re.search(r"<c:val>([\s\S]*?)</c:val>", ser).group(1)
                count = int(re.search(r'<c:ptCount val="(\d+)"', values).group(1))
                cache = [None] * count
                for idx, v in re.findall(r'<c:pt idx="(\d+)">\s*<c:v>([^<]*)</c:v>', values):
                    cache[int(idx)] = float(v)
                found[title] = cache
            return found
    return {}


def test_libreoffice_reads_the_tracking_table_into_the_chart(books):
    folder, _, after = books
    saved = recalculate(after, folder / "lo")
    caches = _series_caches(saved)
    ws = load_workbook(after)["Forecast"]
    assert len(caches) == 3
    for j, (title, cache) in enumerate(caches.items(), start=1):
        column = TRACKING_FIRST_COLUMN + j
        assert title == ws.cell(FORECAST_HEADER_ROW, column).value
        written = [ws.cell(FORECAST_HEADER_ROW + 1 + i, column).value for i in range(TRACKING_ROWS)]
        assert len(cache) == TRACKING_ROWS
        assert [v is None for v in cache] == [v is None for v in written]
        np.testing.assert_allclose([v for v in cache if v is not None],
                                   [v for v in written if v is not None], rtol=1e-9)
    assert sum(v is not None for v in caches[ws.cell(FORECAST_HEADER_ROW,
                                                      TRACKING_FIRST_COLUMN + 3).value]) > 5


def _line_pixels(book, out_dir) -> tuple[int, int]:
    """(black, chart-blue) pixels in the part of the rendered Dashboard page where the
    tracking chart sits (below the revenue chart, right of the model block)."""
    image = read_ppm(render_png(book, out_dir, "Dashboard", dpi=80, image="ppm")).astype(int)
    h, w, _ = image.shape
    part = image[int(0.60 * h):int(0.90 * h), int(0.40 * w):int(0.90 * w)]
    black = np.all(part < 60, axis=-1)
    blue = (np.abs(part - np.array([0x2F, 0x55, 0x97])).max(axis=-1) < 40)
    return int(black.sum()), int(blue.sum())


def test_the_rendered_dashboard_shows_the_lines(books):
    folder, before, after = books
    empty = _line_pixels(before, folder / "png_before")
    drawn = _line_pixels(after, folder / "png_after")
    assert drawn[1] > 5 * max(empty[1], 20), (empty, drawn)  # the model's blue lines (42 -> 359)
    assert drawn[0] > empty[0] + 150, (empty, drawn)  # the actual line, in black
