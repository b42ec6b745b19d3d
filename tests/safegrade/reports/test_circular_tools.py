"""The circular opened by the real tools people use: the html page in headless Chromium (the DOM it built
and a screenshot), the docx in LibreOffice (converted to PDF, read back with pdftotext). One run of
each for the module. The screenshot and the PDF are kept under the test's tmp dir and copied to
var/test-artifacts/ to be looked at.

Without the tools (Debian's chromium, libreoffice-writer-nogui, poppler-utils: `make debian-packages`)
these tests skip and say which package is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from safegrade.reports.circular import render
from safegrade.settings import PROJECT_ROOT
from tests.safegrade.reports.circular_world import EXPECTED

ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts"
WINDOW = (1000, 4200)  # px: the whole circular in one screenshot


def _tool(*names: str, package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{' / '.join(names)} not found: install Debian's {package} (make debian-packages) "
                "to check the circular in the real tool")


def _keep(path: Path) -> None:
    """A copy in var/test-artifacts for people to look at (the tmp dir goes away)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, ARTIFACTS / path.name)


def _flat(text: str) -> str:
    """Text without any white space (pdftotext puts spaces between Chinese and figures)."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def chromium(built, tmp_path_factory) -> dict[str, Any]:
    """One headless Chromium run on the html circular: its DOM and a screenshot."""
    browser = _tool("chromium", "chromium-browser", "google-chrome", package="chromium")
    tmp = tmp_path_factory.mktemp("chromium")
    page = tmp / "circular.html"
    page.write_bytes(render(built("sqlite")[0], "html"))
    shot = tmp / "circular-chromium.png"
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp / 'profile'}", f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    _keep(shot)
    return {"dom": run.stdout, "shot": shot}


@pytest.fixture(scope="module")
def libreoffice(built, tmp_path_factory) -> dict[str, Any]:
    """One LibreOffice run converting the docx circular to PDF, and the PDF's text and first page."""
    office = _tool("soffice", "libreoffice", package="libreoffice-writer-nogui")
    pdftotext = _tool("pdftotext", package="poppler-utils")
    tmp = tmp_path_factory.mktemp("libreoffice")
    docx = tmp / "circular-libreoffice.docx"
    docx.write_bytes(render(built("sqlite")[0], "docx"))
    run = subprocess.run([office, "--headless", "--norestore", f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
                          "--convert-to", "pdf", "--outdir", str(tmp), str(docx)],
                         capture_output=True, text=True, timeout=180, check=False)
    pdf = tmp / "circular-libreoffice.pdf"
    assert run.returncode == 0, run.stdout + run.stderr
    assert pdf.is_file(), run.stdout + run.stderr
    _keep(pdf)
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run([pdftotext.replace("pdftotext", "pdfinfo"), str(pdf)], capture_output=True, text=True,
                          check=False).stdout
    return {"text": text, "info": info, "pdf": pdf}


def test_the_browser_renders_every_figure_of_the_circular(chromium):
    dom = chromium["dom"]
    for phrase in EXPECTED:
        assert phrase in dom, phrase
    assert "<h1>市应急管理局关于2023年运行质量评估工作的通报</h1>" in dom
    # the chart as the browser parsed it: one stacked segment per district and result
    segments = re.findall(r'data-district="([^"]+)" data-result="(.)" data-count="(\d+)"', dom)
    assert sorted(segments) == sorted((d, r, "1") for d in ("河西区", "武清区") for r in ("优", "良", "差"))


def test_the_screenshot_shows_a_page_of_text(chromium):
    from PIL import Image

    image = Image.open(chromium["shot"]).convert("L")
    assert image.size == WINDOW
    width = image.size[0]
    # a white A4 sheet on a grey background, with dark text in it (the title, the body)
    assert image.getpixel((5, 200)) < 250
    assert image.getpixel((width // 2, 60)) > 250
    title = image.crop((width // 4, 100, width * 3 // 4, 260)).histogram()
    assert sum(title[:100]) > 2000  # dark pixels: the title is drawn
    body = image.crop((width // 4, 300, width * 3 // 4, 3000)).histogram()
    assert sum(body[:100]) > 50_000


def test_libreoffice_reads_the_docx_with_its_sections_and_figures(libreoffice):
    flat = _flat(libreoffice["text"])
    for phrase in EXPECTED:
        assert _flat(phrase) in flat, phrase
    where = [flat.index(h) for h in ("一、工作情况", "二、评估情况", "三、存在问题", "四、工作要求")]
    assert where == sorted(where)
    assert flat.index("市应急管理局关于2023年运行质量评估工作的通报") < where[0]
    assert flat.rindex("2023年9月15日") > where[-1]  # dated at the end
    assert "合计816222181" in _flat(libreoffice["text"].replace("|", ""))  # table 1's total row


def test_the_docx_is_laid_out_on_a4(libreoffice):
    if not libreoffice["info"]:
        pytest.skip("pdfinfo (poppler-utils) not found")
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", libreoffice["info"])
    pages = int(re.search(r"Pages:\s+(\d+)", libreoffice["info"]).group(1))
    assert 3 <= pages <= 8
