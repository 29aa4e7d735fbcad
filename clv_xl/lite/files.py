"""The two files a user puts into the xlwings Lite editor: main.py and requirements.txt."""

from __future__ import annotations

from pathlib import Path

from .. import __version__

MAIN_PY = '''\
"""clv-xl in xlwings Lite: the CLV formulas and the Recompute script (written by `clv-xl lite`).

Formulas: =CLV(90, 3, 6, 20%), =P_ALIVE(...), ... (the same as in Windows Excel).
Recompute: choose "recompute" in this pane and click Run (or press F5).
An empty cell reaches a formula as 0: to leave an optional argument blank, leave it out of
the formula or put ="" in the cell. docs/lite.md in the clv-xl project explains the rest.
"""

from clv_xl.lite.functions import *  # noqa: F401,F403  the formulas
from clv_xl.lite.scripts import recompute  # noqa: F401  the Recompute script
'''


def requirements_txt(requirement: str | None = None) -> str:
    """requirements.txt: clv-xl (this version, or ``requirement``, e.g. a wheel's URL).

    numpy, pandas and scipy come with it as Pyodide's own builds; xlwings is Lite's own."""
    line = requirement or f"clv-xl=={__version__}"
    return ("# clv-xl for xlwings Lite (written by `clv-xl lite`): keep the xlwings line that\n"
            "# xlwings Lite put in this file, and add the line below.\n"
            f"{line}\n")


def write_lite_files(folder, requirement: str | None = None) -> list[Path]:
    """Write main.py and requirements.txt into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    main, requirements = folder / "main.py", folder / "requirements.txt"
    main.write_text(MAIN_PY, encoding="utf-8")
    requirements.write_text(requirements_txt(requirement), encoding="utf-8")
    return [main, requirements]
