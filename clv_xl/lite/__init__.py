"""The xlwings Lite door: the Excel formulas and the Recompute script for Excel on a Mac or the web.

xlwings Lite runs Python in Pyodide inside Excel (Windows, macOS, the web). Its ``main.py``
imports :mod:`clv_xl.lite.functions` (every formula of :mod:`clv_xl.excel.udfs`, same names,
same arguments, same conversion) and :mod:`clv_xl.lite.scripts` (Recompute). ``clv-xl lite``
writes that ``main.py`` and its ``requirements.txt`` (:mod:`clv_xl.lite.files`). Both modules
import ``xlwings`` as xlwings Lite provides it; nothing here needs the desktop packages.
docs/lite.md explains what Lite hands a formula and how this door reads it.
"""
