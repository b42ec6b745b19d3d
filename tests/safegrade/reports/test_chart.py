"""The chart of results per district: inline SVG (html) and a PNG drawn with a CJK font (docx); without
such a font it refuses, naming the package to install, instead of drawing boxes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib
import pytest

from safegrade.reports.chart import FONT_PACKAGE, MissingFont, find_cjk_font, results_png, results_svg

BARS = [("和平区", {"优": 3, "良": 1, "差": 0}), ("<滨海>&新区", {"优": 0, "良": 2, "差": 5})]
RESULTS = ["优", "良", "差"]


def test_svg_has_one_segment_per_nonzero_count_with_its_number_and_escapes_names():
    svg = results_svg(BARS, RESULTS, "各区评估结果（家）")
    segments = re.findall(r'data-district="([^"]+)" data-result="(.)" data-count="(\d+)"', svg)
    assert segments == [("和平区", "优", "3"), ("和平区", "良", "1"), ("&lt;滨海&gt;&amp;新区", "良", "2"),
                        ("&lt;滨海&gt;&amp;新区", "差", "5")]
    # the totals on top of the bars
    assert ">4</text>" in svg
    assert ">7</text>" in svg
    assert "<滨海>" not in svg
    assert "<script" not in svg
    assert "href" not in svg
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")


def test_svg_of_no_district_is_still_a_chart():
    assert "<svg" in results_svg([], RESULTS, "各区评估结果")


def test_no_cjk_font_is_a_clear_error_naming_the_package(tmp_path):
    (tmp_path / "wqy-microhei.ttc").write_bytes(b"not a font")  # found by name, refused by its glyphs
    with pytest.raises(MissingFont, match=f"install Debian's {FONT_PACKAGE}"):
        find_cjk_font([tmp_path])


def test_a_font_without_chinese_characters_is_refused():
    latin = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    with pytest.raises(MissingFont, match="lacks some of the chart's characters"):
        results_png(BARS, RESULTS, "各区评估结果", font=latin)


@pytest.mark.filterwarnings("error")  # matplotlib warns "Glyph … missing from font(s)" when it draws a box
def test_png_is_drawn_with_the_cjk_font():
    try:
        font = find_cjk_font()
    except MissingFont as exc:
        pytest.skip(f"{exc} (make debian-fonts)")
    from PIL import Image

    png = results_png(BARS, RESULTS, "各区评估结果（家）", font=font)
    image = Image.open(io.BytesIO(png))
    # 6.3 × 3.2 inches at 150 dpi
    assert image.format == "PNG"
    assert image.size == (945, 480)
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert {(0x2E, 0x7D, 0x32), (0x1F, 0x5F, 0xA8), (0xC6, 0x28, 0x28)} <= colours  # 优, 良 and 差 are drawn
