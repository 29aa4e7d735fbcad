"""The Recompute button of xlwings Lite: a script that recomputes the open book in place.

Run it from the xlwings Lite pane (select "recompute", click Run or press F5). It runs the same
batch pipeline as ``clv-xl recompute`` and the .xlsm button (:mod:`clv_xl.batch.pipeline`) over
the open book (:class:`clv_xl.batch.lite_book.LiteBook`) and replaces only the Forecast and
Issues sheets; progress and any error appear in the Lite output pane, an error also in
Forecast!A2.
"""

import xlwings as xw
from xlwings import script

from ..batch.lite_book import recompute_lite


@script
def recompute(book: xw.Book):
    """Recompute: fill Forecast and Issues from Settings, Clients, Sessions and Contacts."""
    recompute_lite(book)
