"""The batch run: read a book, validate, compute, write Forecast and Issues.

:mod:`.pipeline` is written once; :mod:`.file_book` (headless, ``clv-xl recompute``) and
:mod:`.excel_book` (the Recompute button) are its two doors, both a :class:`.book.Book`.
"""
