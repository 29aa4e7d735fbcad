"""Every install instruction the project gives works as written.

clv-xl is not on the public package index, so no text may tell a user to ``pip install clv-xl``:
not the README or docs, not the Start sheet, not the Recompute button's message. Every other
``pip install`` names this folder, a wheel the README shows how to build, or a package the
project itself depends on. The README's wheel commands are run: the wheel builds under the
name the README gives, installs on its own, and its ``clv-xl`` command runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clv_xl import __version__
from clv_xl.template.macro import vba_source
from clv_xl.template.pages import NOTES

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "clv_xl").rglob("*.py")), *sorted((ROOT / "clv_xl").rglob("*.bas")),
         *sorted((ROOT / "workbook" / "vba").glob("*.bas")), ROOT / ".ci" / "run"]


def _dependencies() -> set[str]:
    """The names pyproject.toml lists as requirements (one quoted requirement a line; tomllib
    is not in Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    return {m.lower() for m in re.findall(r'^\s*"([A-Za-z0-9_.-]+)[^"]*",?\s*$', text, re.MULTILINE)}


def _instructions() -> list[tuple[str, str]]:
    found = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in TEXTS]
    found.append(("Start sheet", "\n".join(text for _, text in NOTES)))
    found.append(("Recompute button", vba_source()))
    return found


def test_no_text_tells_users_to_install_from_the_public_index():
    for where, text in _instructions():
        # (the package name alone, perhaps with extras or a version; not the wheel's file name)
        assert not re.search(r"pip install\s+[\"']?clv[-_]xl(?=$|[\s`\"'\[=<>~!])", text,
                             re.MULTILINE), where


def install_targets(text: str) -> list[str]:
    """What each ``pip install`` in ``text`` installs: its first argument that is no option."""
    targets = []
    for rest in re.findall(r"pip install\s+([^`\n]*(?:\n[^`\n]*)?)", text):
        words = [w.strip("\"'*,;()") for w in rest.split()]
        targets.append(next((w for w in words if w and not w.startswith("-")), ""))
    return targets


def test_every_pip_install_names_this_folder_a_wheel_or_a_dependency():
    allowed = _dependencies() | {"pip"}  # .ci/run upgrades pip itself
    seen = 0
    for where, text in _instructions():
        for target in install_targets(text):
            seen += 1
            if target == "." or target.startswith(".["):
                continue
            if target.endswith(".whl"):
                assert target == f"clv_xl-{__version__}-py3-none-any.whl", (where, target)
                continue
            name = re.match(r"[A-Za-z0-9_.-]*", target).group(0).lower()
            assert name in allowed, (where, target)
    assert seen >= 5


def test_the_readme_gives_the_install_commands_this_test_runs():
    readme = (ROOT / "README.md").read_text()
    assert "pip install . && clv-xl demo" in readme
    assert "`pip wheel --no-deps -w dist .`" in readme
    assert f"`pip install clv_xl-{__version__}-py3-none-any.whl`" in readme


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps -w dist .`` in a copy of the source folder (the build leaves
    build/ and *.egg-info behind, which must not touch the working tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "clv_xl", source / "clv_xl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", "dist", "."],
                         cwd=source, capture_output=True, text=True)
    if run.returncode != 0 and "setuptools" in run.stderr and "No matching distribution" in run.stderr:
        pytest.skip("pip cannot fetch setuptools to build the wheel (no package index here)")
    assert run.returncode == 0, run.stderr[-2000:]
    (built,) = (source / "dist").glob("*.whl")
    return built


def test_the_wheel_builds_under_the_readme_name_with_its_data(wheel):
    assert wheel.name == f"clv_xl-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "clv_xl/template/vba/ClvRecompute.bas" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "clv-xl = clv_xl.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_runs_the_command(wheel, tmp_path):
    """``pip install`` of the wheel (its dependencies are those of this environment), then the
    ``clv-xl`` command from the installed copy, not from this source folder."""
    target = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                          "--target", str(target), str(wheel)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import clv_xl.cli as c; "
            "assert c.__file__.startswith(sys.argv[1]), c.__file__; "
            "sys.exit(c.main(['template', '--out', sys.argv[2]]))")
    run = subprocess.run([sys.executable, "-c", code, str(target), str(tmp_path / "books")],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "books" / "clv_template.xlsm").exists()
    assert (tmp_path / "books" / "vba" / "ClvRecompute.bas").exists()
