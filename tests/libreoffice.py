"""Run LibreOffice headless on a workbook: recalculate it, or print a sheet to PDF/PNG.

Tests import :func:`require_soffice` to skip cleanly (with the reason) when LibreOffice is
not installed. HOME points at a fresh temporary profile that tells Calc to recalculate every
formula on load, whatever the file says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT = 300

# Calc > Formula > Recalculation on file load: 0 = always (for Excel 2007+ and ODF files).
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    """The LibreOffice executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    """The executable, or skip the calling test with the reason."""
    import pytest

    found = soffice()
    if found is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
    return found


def convert(source, out_dir, target: str = "xlsx") -> Path:
    """Open ``source`` in LibreOffice headless and save it as ``target`` into ``out_dir``.

    ``target`` is a --convert-to filter spec, e.g. ``xlsx`` (recalculated values stored)
    or ``pdf``. Returns the written file.
    """
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    source, out_dir = Path(source).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-home-") as home:
        user = Path(home) / ".config" / "libreoffice" / "4" / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(_PROFILE)
        env = {**os.environ, "HOME": home}
        cmd = [exe, "--headless", "--norestore", "--nologo",
               f"-env:UserInstallation={Path(home).as_uri()}/.config/libreoffice/4",
               "--convert-to", target, "--outdir", str(out_dir), str(source)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    written = out_dir / f"{source.stem}.{target.split(':')[0]}"
    if done.returncode != 0 or not written.exists():
        raise RuntimeError(f"LibreOffice failed ({done.returncode}): {done.stdout}{done.stderr}")
    return written


def recalculate(source, out_dir) -> Path:
    """A copy of ``source`` in ``out_dir`` with every formula's value computed by LibreOffice."""
    return convert(source, out_dir, "xlsx")


def render_png(source, out_dir, sheet: str, dpi: int = 110, crop=None,
               image: str = "png") -> Path:
    """PNG of the first page of one sheet: the book with only that sheet visible, to PDF
    (``out_dir/<sheet>.pdf``), to PNG with pdftoppm. ``crop``: (x, y, width, height) in pixels
    at ``dpi``. ``image="ppm"`` gives a binary PPM instead (read by :func:`read_ppm`, no
    imaging library needed). The book's parts are copied as they are (only workbook.xml
    changes), so LibreOffice draws the charts as the builder wrote them, not as openpyxl would
    re-write them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    only = out_dir / f"{sheet.lower()}.xlsx"
    only_sheet(source, sheet, only)
    pdf = convert(only, out_dir, "pdf")
    stem = out_dir / sheet.lower()
    box = [] if crop is None else ["-x", "-y", "-W", "-H"]
    box = [str(v) for pair in zip(box, crop or ()) for v in pair]
    kind = [] if image == "ppm" else ["-png"]
    subprocess.run(["pdftoppm", *kind, "-r", str(dpi), "-singlefile", *box, str(pdf),
                    str(stem)], check=True, timeout=TIMEOUT)
    return stem.with_suffix(f".{image}")


def read_ppm(path):
    """The pixels of a binary PPM (P6, 8 bits) as a (height, width, 3) numpy array."""
    import numpy as np

    data = Path(path).read_bytes()
    fields, at = [], 0
    while len(fields) < 4:  # magic, width, height, maxval, separated by whitespace
        while data[at:at + 1].isspace():
            at += 1
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"{path}: not an 8-bit binary PPM")
    width, height = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data[at + 1:at + 1 + width * height * 3], dtype=np.uint8)
    return pixels.reshape(height, width, 3)


def only_sheet(source, sheet: str, target) -> Path:
    """A copy of the book ``source`` at ``target`` whose other sheets are hidden and whose
    active tab is ``sheet``."""
    import re
    import zipfile

    with zipfile.ZipFile(source) as book, zipfile.ZipFile(target, "w",
                                                          zipfile.ZIP_DEFLATED) as out:
        for info in book.infolist():
            data = book.read(info)
            if info.filename == "xl/workbook.xml":
                xml = data.decode("utf-8")
                names = re.findall(r'<sheet\b[^>]*\bname="([^"]*)"', xml)

                def hide(match):
                    tag = re.sub(r'\sstate="[^"]*"', "", match.group(0))
                    if f'name="{sheet}"' in tag:
                        return tag
                    return tag.replace("<sheet ", '<sheet state="hidden" ', 1)

                xml = re.sub(r"<sheet\b[^>]*/>", hide, xml)
                xml = re.sub(r'activeTab="\d+"', f'activeTab="{names.index(sheet)}"', xml)
                xml = re.sub(r'firstSheet="\d+"', f'firstSheet="{names.index(sheet)}"', xml)
                data = xml.encode("utf-8")
            out.writestr(info, data)
    return Path(target)


def pdf_words(pdf) -> list[tuple[int, float, float, float, float, str]]:
    """Every word LibreOffice drew in ``pdf``: (page, x min, y min, x max, y max, text), in
    points from the page's top left, as ``pdftotext -bbox`` finds them. A word a cell clips
    away is not drawn, so it is not listed."""
    import html
    import re

    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, timeout=TIMEOUT,
                         capture_output=True, text=True).stdout
    words = []
    for page, body in enumerate(out.split("<page ")[1:], start=1):
        for x0, y0, x1, y1, text in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                r'([^<]*)</word>', body):
            words.append((page, float(x0), float(y0), float(x1), float(y1), html.unescape(text)))
    return words


if __name__ == "__main__":  # python tests/libreoffice.py: refresh docs/dashboard.png
    import sys

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from clv_xl.demo import demo_data
    from clv_xl.template import build_template

    with tempfile.TemporaryDirectory() as tmp:
        book = build_template(Path(tmp) / "clv_demo.xlsx", demo_data())
        png = render_png(book, tmp, "Dashboard", dpi=110, crop=(80, 95, 1010, 500))
        shutil.copy(png, root / "docs" / "dashboard.png")
    print(root / "docs" / "dashboard.png")
