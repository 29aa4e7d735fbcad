"""The split: the engine and the Lite door need only numpy, pandas and scipy.

* pyproject's requirements, evaluated for Pyodide (sys_platform "emscripten"), are exactly
  numpy, pandas and scipy; for a desktop, all of them.
* Every Lite formula and the Lite Recompute script run in a Python where openpyxl,
  python-calamine, pyOpenVBA, defusedxml and classic xlwings cannot be imported, and answer
  exactly as in this process.
* The same in a fresh venv (no system site-packages) holding only numpy, pandas and scipy, with
  clv-xl installed from this folder with --no-deps. It needs PyPI or a pip cache; set
  CLV_XL_OFFLINE=1 to skip it.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from clv_xl.batch.excel_book import ExcelBook
from clv_xl.excel import function as excel_function
from clv_xl.template import build_template
from tests import lite_calls
from tests.lite_runner import Book
from tests.test_excel_book import StandInBook
from tests.test_lite import AS_OF, DATA, SESSIONS_LITE, import_under_lite

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "tests" / "helpers"
PYODIDE_PROVIDES = {"numpy", "pandas", "scipy"}


def requirements(environment):
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.add(requirement.name.lower())
    return names


def test_pyodide_installs_only_what_it_provides_and_a_desktop_everything():
    assert requirements({"sys_platform": "emscripten"}) == PYODIDE_PROVIDES
    desktop = requirements({"sys_platform": "linux"})
    assert desktop >= PYODIDE_PROVIDES | {"openpyxl", "defusedxml", "python-calamine",
                                          "pyopenvba", "xlwings"}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """The calls and the demo book's sheets, and what this process answers for them."""
    folder = tmp_path_factory.mktemp("lite-split")
    (folder / "standin").mkdir()
    (folder / "standin" / "xlwings.py").write_text((HELPERS / "lite_xlwings.py").read_text())
    functions, scripts = import_under_lite("clv_xl.lite.functions", "clv_xl.lite.scripts")
    calls = lite_calls.all_calls(functions.FORMULAS, SESSIONS_LITE, lite_calls.serial(AS_OF))
    demo = build_template(folder / "demo.xlsx", DATA)
    reader = ExcelBook(StandInBook(demo))
    sheets = {name: reader.read_rows(name) for name in reader.sheet_names()}
    from tests.helpers import lite_xlwings

    answers = {}
    for name, examples in calls.items():
        for label, matrices in examples:
            got = lite_xlwings.call(getattr(functions, name), *matrices)
            answers[(name, label)] = got.message if isinstance(got, lite_xlwings.ValueCell) else got
    book = Book(sheets)
    scripts.recompute(book)
    path = folder / "job.pickle"
    path.write_bytes(pickle.dumps({"calls": calls, "sheets": sheets, "block": True,
                                   "standin_dir": str(folder / "standin")}))
    return {"path": path, "answers": answers, "forecast": book.sheets["Forecast"].grid(),
            "issues": book.sheets["Issues"].grid()}


def run_job(python, job, block, cwd, env=None):
    data = pickle.loads(job["path"].read_bytes())
    data["block"] = block
    path = job["path"].with_name(f"job-{'blocked' if block else 'venv'}.pickle")
    path.write_bytes(pickle.dumps(data))
    done = subprocess.run([str(python), str(ROOT / "tests" / "lite_runner.py"), str(path)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return pickle.loads(Path(str(path) + ".out").read_bytes())


def check(out, job):
    assert out["names"] == sorted(excel_function.REGISTRY)
    assert not set(out["loaded"]) & {"openpyxl", "python_calamine", "pyopenvba", "defusedxml"}
    assert out["answers"] == job["answers"]
    assert out["forecast"][2:] == job["forecast"][2:]  # row 2: the status line, with the time
    assert out["forecast"][1][0].startswith(job["forecast"][1][0][:10])
    assert out["issues"] == job["issues"]
    assert len(out["forecast"]) > len(DATA.clients)


def test_every_lite_function_runs_without_the_desktop_packages(job, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    check(run_job(sys.executable, job, block=True, cwd=tmp_path, env=env), job)


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("CLV_XL_OFFLINE") == "1", reason="CLV_XL_OFFLINE=1")
def test_a_fresh_venv_with_numpy_pandas_scipy_and_the_wheel_without_deps(job, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    got = subprocess.run([str(python), "-m", "pip", "install", "-q", *sorted(PYODIDE_PROVIDES)],
                         capture_output=True, text=True, timeout=900)
    if got.returncode != 0:
        pytest.skip(f"numpy, pandas, scipy not installable here (offline?): {got.stderr[-300:]}")
    source = tmp_path / "src"  # a copy, so that the build leaves nothing in the worktree
    shutil.copytree(ROOT / "clv_xl", source / "clv_xl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                                str(source)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, timeout=120).stdout.lower()
    for desktop in ("openpyxl", "defusedxml", "python-calamine", "pyopenvba", "xlwings"):
        assert f"{desktop}==" not in listed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = run_job(python, job, block=False, cwd=tmp_path, env=env)
    assert str(env_dir) in out["xlwings"] or "standin" in out["xlwings"]
    check(out, job)
