"""The Excel template: ``build_template(path, data=None, as_of=None)`` writes it with openpyxl.

The book's layout comes from :mod:`clv_xl.book.schema`; its computed columns are native Excel
formulas (:mod:`clv_xl.template.formulas`) that compute what :func:`clv_xl.engine.metrics.client_metrics`
computes. See docs/template.md.
"""

from .build import SHEET_ORDER, build_books, build_template

__all__ = ["SHEET_ORDER", "build_books", "build_template"]
