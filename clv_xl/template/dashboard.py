"""The Segments and Dashboard sheets: native formulas over the Clients and Sessions tables."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import NumFmt
from openpyxl.chart.label import DataLabelList
from openpyxl.descriptors import Typed
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..book.schema import NO_SEGMENT, RISK_BANDS, SEGMENTS
from . import styles
from .formulas import COMPUTED_BY_KEY, S_AMOUNT, S_DATE, S_STATUS
from .inputs import _protect
from .pages import FORECAST_FIGURE_ROW, FORECAST_FIGURES, FORECAST_HEADER_ROW
from ..book.layout import TRACKING_COLUMNS, TRACKING_FIRST_COLUMN, TRACKING_ROWS

#: Rows of the Segments sheet that take a segment name (prefilled, editable).
SEGMENT_ROWS = 10
SEGMENT_FIRST_ROW = 5
#: The row of every client whose segment is not listed above it, or blank.
OTHER_LABEL = f"Other segments and {NO_SEGMENT}"
ALL_LABEL = "All clients"


def col(key: str) -> str:
    """A computed Clients column, e.g. ``Clients[CLV]``."""
    return f"Clients[{COMPUTED_BY_KEY[key].header}]"


#: Segments columns: (header, number format, formula for a listed segment, for all clients).
#: In the formulas {seg} is the segment cell and {Header} the same-row cell of another column;
#: a None total marks a ratio, computed the same way on every row from the row's totals.
_SEGMENT_COLUMNS = (
    ("Clients", styles.COUNT_FORMAT,
     "COUNTIFS(Clients[Segment],{seg})", f"COUNT({col('completed')})"),
    ("Total CLV", styles.MONEY_FORMAT,
     f"SUMIFS({col('clv')},Clients[Segment],{{seg}})", f"SUM({col('clv')})"),
    ("Average CLV", styles.MONEY_FORMAT, "{Total CLV}/{Clients}", None),
    ("Total TLV", styles.MONEY_FORMAT,
     f"SUMIFS({col('tlv')},Clients[Segment],{{seg}})", f"SUM({col('tlv')})"),
    ("Average TLV", styles.MONEY_FORMAT, "{Total TLV}/{Clients}", None),
    ("Revenue", styles.MONEY_FORMAT,
     f"SUMIFS({col('revenue')},Clients[Segment],{{seg}})", f"SUM({col('revenue')})"),
    ("Sessions", styles.COUNT_FORMAT,
     f"SUMIFS({col('completed')},Clients[Segment],{{seg}})", f"SUM({col('completed')})"),
    ("Sessions per client", styles.NUMBER_FORMAT, "{Sessions}/{Clients}", None),
    ("Avg order value", styles.MONEY_FORMAT, "{Revenue}/{Sessions}", None),
    ("High risk", styles.COUNT_FORMAT,
     f'COUNTIFS(Clients[Segment],{{seg}},{col("risk_band")},"{RISK_BANDS[2]}")',
     f'COUNTIF({col("risk_band")},"{RISK_BANDS[2]}")'),
    ("Share at risk", styles.PERCENT_FORMAT, "{High risk}/{Clients}", None),
)
SEGMENT_HEADERS = ("Segment",) + tuple(c[0] for c in _SEGMENT_COLUMNS)


def _letter(header: str) -> str:
    return get_column_letter(SEGMENT_HEADERS.index(header) + 1)


def _ratio(template: str, r: int) -> str:
    """A ratio of two same-row cells, blank when the divisor is 0 or blank."""
    refs = {h: f"{_letter(h)}{r}" for h in SEGMENT_HEADERS}
    numerator, divisor = (part.strip("{}") for part in template.split("/"))
    return f'IF(N({refs[divisor]})>0,{refs[numerator]}/{refs[divisor]},"")'


def segment_rows() -> dict[str, int]:
    last = SEGMENT_FIRST_ROW + SEGMENT_ROWS - 1
    return {"first": SEGMENT_FIRST_ROW, "last": last, "other": last + 1, "all": last + 2}


def add_segments(wb, names=None) -> None:
    """CLV, TLV, clients and share at risk per segment; the segment names are inputs."""
    ws = wb.create_sheet("Segments")
    rows = segment_rows()
    names = list(names if names is not None else SEGMENTS)[:SEGMENT_ROWS]
    styles.write(ws, "A1", "Segments", styles.TITLE)
    styles.write(ws, "A2", "Type the segments to compare in the yellow cells (as written in "
                 f"the Clients sheet). '{OTHER_LABEL}' collects every client not listed.",
                 styles.NOTE)
    for j, header in enumerate(SEGMENT_HEADERS, start=1):
        cell = ws.cell(4, j, header)
        styles.style_header(cell, "input" if j == 1 else "computed")
    ws.row_dimensions[4].height = 32
    for r in range(rows["first"], rows["all"] + 1):
        label = ws.cell(r, 1)
        if r <= rows["last"]:
            i = r - rows["first"]
            label.value = names[i] if i < len(names) else None
            styles.style_input(label)
        else:
            label.value = OTHER_LABEL if r == rows["other"] else ALL_LABEL
            label.font = styles.BOLD
        for j, (header, fmt, listed, total) in enumerate(_SEGMENT_COLUMNS, start=2):
            letter = get_column_letter(j)
            if total is None:
                formula = _ratio(listed, r)
            elif r <= rows["last"]:
                formula = listed.format(seg=f"$A{r}")
            elif r == rows["all"]:
                formula = total
            else:
                formula = (f"{letter}{rows['all']}-SUM({letter}{rows['first']}:"
                           f"{letter}{rows['last']})")
            if r <= rows["last"]:
                formula = f'IF($A{r}="","",{formula})'
            cell = ws.cell(r, j, "=" + formula)
            styles.style_computed(cell, fmt)
            if r == rows["all"]:
                cell.font = styles.BOLD
    unique = DataValidation(
        type="custom", formula1=f"COUNTIF($A${rows['first']}:$A${rows['last']},A{rows['first']})=1",
        allow_blank=True, showErrorMessage=True, errorTitle="Segment",
        error="This segment is already listed; each segment once.")
    unique.add(f"A{rows['first']}:A{rows['last']}")
    ws.add_data_validation(unique)
    widths = (18, 9, 13, 13, 13, 13, 13, 10, 10, 12, 9, 9)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[chr(ord("A") + j - 1)].width = width
    ws.freeze_panes = "B5"
    styles.fit_to_width(ws, landscape=True)
    _protect(ws)


# --- Dashboard -------------------------------------------------------------------------------

_REVENUE = f'SUMIFS({S_AMOUNT},{S_STATUS},"Completed",{S_DATE},"<="&AsOfDate'
_STAGE = col("lifecycle_stage")

#: (label, formula, number format, note)
KPIS = (
    ("Clients", f"COUNT({col('completed')})", styles.COUNT_FORMAT, "Rows with a Client ID."),
    ("Active clients",
     f'COUNTIF({_STAGE},"New")+COUNTIF({_STAGE},"Retained")+COUNTIF({_STAGE},"At risk")',
     styles.COUNT_FORMAT, "Stage New, Retained or At risk: not a prospect, not lapsed."),
    ("At risk", f'COUNTIF({_STAGE},"At risk")', styles.COUNT_FORMAT,
     "Active clients whose churn risk is High."),
    ("Total CLV", f"SUM({col('clv')})", styles.MONEY_FORMAT, "Lifetime value to date, all "
     "clients."),
    ("Average CLV", 'IF(C5>0,C8/C5,"")', styles.MONEY_FORMAT, "Per client."),
    ("CLV:CAC ratio", f'IF(SUM({col("acquisition_cost_used")})>0,'
     f'C8/SUM({col("acquisition_cost_used")}),"")', "0.0",
     "Total CLV over total acquisition cost: what each unit spent on winning clients "
     "returns."),
    ("Revenue, last 12 months", f'{_REVENUE},{S_DATE},">"&EDATE(AsOfDate,-12))',
     styles.MONEY_FORMAT, "Completed sessions in the 12 months up to the as-of date."),
)
KPI_FIRST_ROW = 5
#: The Dashboard's columns left of the charts (which start in column F).
COLUMN_WIDTHS = {"A": 2, "B": 24, "C": 16, "D": 40, "E": 2}
#: Beside the title, when the charts have nothing to show (they have no value axis, so an empty
#: chart is blank, not bars of 0 on an axis from 0 to 1). Short: the Recompute button is to the
#: right of this row.
_KPI_ROW = {label: KPI_FIRST_ROW + i for i, (label, *_) in enumerate(KPIS)}
NO_DATA_NOTE = (f'IF(C{_KPI_ROW["Clients"]}=0,"No clients yet.",'
                f'IF(C{_KPI_ROW["Revenue, last 12 months"]}=0,'
                '"No completed sessions in the last 12 months.",""))')
BAND_ROW = 14  # header of the "clients by risk band" table
MONTH_ROW = 20  # header of the "revenue by month" table
MONTHS = 12
#: The "Model forecast" block: the figures of the Forecast sheet (filled by Recompute).
MODEL_ROW = 35
#: The tracking chart (the model's cumulative repeat sessions against the actual ones, from
#: the Forecast sheet's tracking table) beside the model block: anchor and size in cm.
TRACKING_CHART_ANCHOR = f"F{MODEL_ROW - 1}"
TRACKING_CHART_SIZE = (25.8, 9.0)
#: What prints: the tables, the four charts and the model block (docs/dashboard.png shows
#: the part above the model block).
PRINT_AREA = f"A1:V{MODEL_ROW + 18}"


def add_dashboard(wb, n_segments: int) -> None:
    """Key figures on the left, their charts on the right; nothing overlaps."""
    ws = wb.create_sheet("Dashboard")
    styles.write(ws, "B1", "Dashboard", styles.TITLE)
    styles.write(ws, "B2", "As of", styles.BOLD)
    styles.write(ws, "C2", "=AsOfDate", styles.BOLD, number_format=styles.DATE_FORMAT)
    styles.write(ws, "D2", '="Money in "&Currency&". Change the as-of date and the rest in '
                 'Settings."', styles.NOTE)
    styles.write(ws, "D3", f'=IF(DataCheck<>"OK",DataCheck,{NO_DATA_NOTE})', styles.NOTE)
    styles.write(ws, "B4", "Key figures", styles.SUBTITLE)
    for i, (label, formula, fmt, note) in enumerate(KPIS):
        r = KPI_FIRST_ROW + i
        styles.write(ws, f"B{r}", label, styles.BOLD, fill=styles.KPI_FILL, border=styles.BOX,
                     alignment=styles.MIDDLE)
        cell = styles.write(ws, f"C{r}", "=" + formula, styles.KPI, number_format=fmt,
                            fill=styles.KPI_FILL, border=styles.BOX, alignment=styles.MIDDLE)
        cell.protection = styles.LOCKED
        ws.row_dimensions[r].height = 28
        styles.write(ws, f"D{r}", note, styles.NOTE, alignment=styles.MIDDLE_WRAP)

    styles.write(ws, f"B{BAND_ROW - 1}", "Clients by risk band", styles.SUBTITLE)
    _small_header(ws, BAND_ROW, ("Risk band", "Clients"))
    for i, band in enumerate(RISK_BANDS, start=1):
        r = BAND_ROW + i
        styles.write(ws, f"B{r}", band, border=styles.BOX, fill=PatternFill(
            "solid", fgColor=styles.BAND_FILLS[band]))
        styles.write(ws, f"C{r}", f'=COUNTIF({col("risk_band")},B{r})', border=styles.BOX,
                     number_format=styles.COUNT_FORMAT)

    styles.write(ws, f"B{MONTH_ROW - 1}", "Revenue by month", styles.SUBTITLE)
    _small_header(ws, MONTH_ROW, ("Month", "Revenue"))
    for i in range(MONTHS):
        r = MONTH_ROW + 1 + i
        start = f"DATE(YEAR(AsOfDate),MONTH(AsOfDate)-{MONTHS - 1 - i},1)"
        styles.write(ws, f"B{r}", "=" + start, border=styles.BOX,
                     number_format=styles.MONTH_FORMAT)
        styles.write(ws, f"C{r}", f'={_REVENUE},{S_DATE},">="&B{r},{S_DATE},"<"&EDATE(B{r},1))',
                     border=styles.BOX, number_format=styles.MONEY_FORMAT)

    _model_block(ws)
    for letter, width in COLUMN_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    _charts(ws, n_segments)
    _tracking_chart(ws)
    ws.sheet_view.showGridLines = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = PRINT_AREA
    _protect(ws)


def _model_block(ws) -> None:
    """The Forecast sheet's figures, by formula: blank until the first Recompute."""
    styles.write(ws, f"B{MODEL_ROW}", "Model forecast", styles.SUBTITLE)
    styles.write(ws, f"D{MODEL_ROW}", '=IF(Forecast!A2="","Press Recompute (clv_template.xlsm) '
                 'or run clv-xl recompute BOOK.xlsx to fill these.","From the last Recompute: '
                 'see the Forecast sheet.")', styles.NOTE)
    for i, (label, fmt) in enumerate(FORECAST_FIGURES):
        r = MODEL_ROW + 1 + i
        source = f"Forecast!B{FORECAST_FIGURE_ROW + i}"
        styles.write(ws, f"B{r}", label, styles.BOLD, fill=styles.KPI_FILL, border=styles.BOX,
                     alignment=styles.MIDDLE_WRAP)
        cell = styles.write(ws, f"C{r}", f'=IF({source}="","",{source})', styles.BOLD,
                            number_format=fmt or "General", fill=styles.KPI_FILL,
                            border=styles.BOX, alignment=styles.MIDDLE)
        cell.protection = styles.LOCKED
        ws.row_dimensions[r].height = 30


def _small_header(ws, row: int, texts) -> None:
    for letter, text in zip("BC", texts):
        cell = ws[f"{letter}{row}"]
        cell.value = text
        styles.style_header(cell, "computed")


def _charts(ws, n_segments: int) -> None:
    rows = segment_rows()
    seg_last = rows["first"] + max(1, n_segments) - 1
    by_segment = _bar("Average CLV by segment")
    by_segment.add_data(Reference(ws.parent["Segments"], min_col=4, min_row=rows["first"],
                                  max_row=seg_last), titles_from_data=False)
    by_segment.set_categories(Reference(ws.parent["Segments"], min_col=1,
                                        min_row=rows["first"], max_row=seg_last))
    ws.add_chart(_sized(_labelled(by_segment, styles.MONEY_LABEL), 15.0, 10.2), "F4")

    by_band = _bar("Clients by risk band")
    by_band.add_data(Reference(ws, min_col=3, min_row=BAND_ROW + 1, max_row=BAND_ROW + 3),
                     titles_from_data=False)
    by_band.set_categories(Reference(ws, min_col=2, min_row=BAND_ROW + 1,
                                     max_row=BAND_ROW + 3))
    series = by_band.series[0]
    for i, band in enumerate(RISK_BANDS):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = styles.BAND_CHART[band]
        series.dPt.append(point)
    ws.add_chart(_sized(_labelled(by_band, styles.COUNT_LABEL), 10.5, 10.2), "O4")

    by_month = _bar("Revenue by month")
    by_month.add_data(Reference(ws, min_col=3, min_row=MONTH_ROW + 1,
                                max_row=MONTH_ROW + MONTHS), titles_from_data=False)
    by_month.set_categories(Reference(ws, min_col=2, min_row=MONTH_ROW + 1,
                                      max_row=MONTH_ROW + MONTHS))
    by_month.x_axis.number_format = styles.MONTH_FORMAT
    ws.add_chart(_sized(_labelled(by_month, styles.MONEY_LABEL), 25.8, 7.6), f"F{MONTH_ROW - 1}")


def _tracking_chart(ws) -> None:
    """Lines over the Forecast sheet's tracking table: actual cumulative repeat sessions
    (black), the model over the period it was fitted on (blue) and its holdout forecast (blue,
    dashed). Empty until the first Recompute. No value axis, as the bar charts: the lines are
    compared by their shape, and the Forecast's table holds the numbers."""
    chart = LineChart()
    chart.title = "Does the model track reality? (cumulative repeat sessions)"
    chart.x_axis.number_format = styles.MONTH_FORMAT
    chart.x_axis.delete = False
    chart.y_axis.delete = True  # an empty book would draw an axis of 0..10; the lines compare
    chart.y_axis.majorGridlines = None  # by shape, the Forecast's table holds the numbers
    chart.legend.position = "b"
    first, last = FORECAST_HEADER_ROW, FORECAST_HEADER_ROW + TRACKING_ROWS

    def column(j: int, top: int) -> Reference:
        letter = get_column_letter(TRACKING_FIRST_COLUMN + j)
        return Reference(range_string=f"Forecast!${letter}${top}:${letter}${last}")

    for j in range(1, len(TRACKING_COLUMNS)):
        chart.add_data(column(j, first), titles_from_data=True)
    chart.set_categories(column(0, first + 1))
    for series, (colour, dash) in zip(chart.series, (("000000", None), ("2F5597", None),
                                                     ("2F5597", "dash"))):
        series.smooth = False
        series.marker.symbol = "none"
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        if dash:
            series.graphicalProperties.line.dashStyle = dash
    ws.add_chart(_sized(chart, *TRACKING_CHART_SIZE), TRACKING_CHART_ANCHOR)


def _bar(title: str) -> BarChart:
    """A column chart with no value axis: its bars carry their values (:func:`_labelled`), so
    with no data it shows no axis running from 0 to 1, only its title and categories
    (NO_DATA_NOTE says why, under the title)."""
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.legend = None
    chart.style = 10
    chart.x_axis.delete = False
    chart.y_axis.delete = True
    chart.y_axis.majorGridlines = None
    return chart


def _labelled(chart: BarChart, label_format: str) -> BarChart:
    """Each bar labelled with its value in ``label_format`` (which leaves a 0 blank)."""
    for series in chart.series:
        series.dLbls = _ValueLabels(
            showVal=True, showLegendKey=False, showCatName=False, showSerName=False,
            showPercent=False, showBubbleSize=False, dLblPos="outEnd",
            numFmt=NumFmt(formatCode=label_format, sourceLinked=False))
    return chart


class _ValueLabels(DataLabelList):
    """openpyxl's data labels with the number format written as ``<c:numFmt formatCode
    sourceLinked="0">``: without sourceLinked LibreOffice labels with the cells' format."""

    numFmt = Typed(expected_type=NumFmt, allow_none=True)
    __elements__ = DataLabelList.__elements__
    __attrs__ = DataLabelList.__attrs__
    __nested__ = tuple(name for name in DataLabelList.__nested__ if name != "numFmt")


def _sized(chart, width_cm: float, height_cm: float):
    chart.width, chart.height = width_cm, height_cm
    return chart
