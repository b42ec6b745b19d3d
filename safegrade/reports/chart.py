"""The chart of results per district (优/良/差 stacked bars): inline SVG for html, PNG for docx.

The SVG is written by hand (no JavaScript, no external asset: it works offline and in any browser).
The PNG is drawn by matplotlib (its object API, no pyplot global state) with a CJK font found by file
path; without one it refuses with the package to install, rather than drawing boxes for every Chinese
character.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html import escape
from pathlib import Path

from safegrade.errors import SafegradeError

COLOURS = {"优": "#2e7d32", "良": "#1f5fa8", "差": "#c62828"}  # green, blue, red; other results grey
OTHER = "#757575"
FONT_PACKAGE = "fonts-wqy-microhei"
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
# CJK fonts by file name, best first: what Debian, Fedora, macOS and Windows install
FONT_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf",
              "NotoSerifCJK-Regular.ttc", "SourceHanSansSC-Regular.otf", "DroidSansFallbackFull.ttf",
              "PingFang.ttc", "STHeiti Light.ttc", "msyh.ttc", "simhei.ttf", "simsun.ttc")

Bars = Sequence[tuple[str, Mapping[str, int]]]  # (district name, result → count), in the order drawn


class MissingFont(SafegradeError):
    """No font with the Chinese characters the chart needs."""


def find_cjk_font(folders: Iterable[str | Path] | None = None, text: str = "优良差区") -> Path:
    """The best known CJK font file under the folders (default: the usual ones, FONT_FOLDERS) that has
    every character of `text`; MissingFont, naming the package to install, when there is none."""
    folders = list(FONT_FOLDERS if folders is None else folders)
    found: dict[str, list[Path]] = {}
    for folder in folders:
        root = Path(folder).expanduser()
        if root.is_dir():
            for path in root.rglob("*"):
                if path.name in FONT_FILES:
                    found.setdefault(path.name, []).append(path)
    for name in FONT_FILES:
        for path in sorted(found.get(name, [])):
            if _has_glyphs(str(path), text):
                return path
    raise MissingFont(f"no CJK font for the chart's Chinese labels in {', '.join(map(str, folders))}; install "
                      f"Debian's {FONT_PACKAGE} (`make debian-fonts`, or apt-get install {FONT_PACKAGE})")


@lru_cache(maxsize=64)
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError):
        return frozenset()


def _has_glyphs(path: str, text: str) -> bool:
    cmap = _charmap(path)
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


def _scale(top: int) -> tuple[int, list[int]]:
    """A round axis maximum at or above `top` and its ticks (at most about 6)."""
    top = max(top, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if top / step <= 5:
            break
    else:
        step = 10 ** len(str(top))
    ceiling = -(-top // step) * step
    return ceiling, list(range(0, ceiling + 1, step))


def results_svg(bars: Bars, results: Sequence[str], title: str) -> str:
    """Stacked bars, one per district, with each segment's count, the total on top, axis and legend."""
    rotate = len(bars) > 8  # 16 districts' names side by side would overlap: slant them
    width, height = 680, 360 if rotate else 330
    left, right, top, bottom = 48, 16, 70, 72 if rotate else 42  # title and legend above, names below
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling, ticks = _scale(max((sum(r.values()) for _, r in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    bar_w = min(48.0, slot * 0.6)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f'<text x="{width / 2}" y="18" text-anchor="middle" class="chart-title">{escape(title)}</text>']
    for tick in ticks:
        y = top + plot_h - tick / ceiling * plot_h
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    for i, (name, counts) in enumerate(bars):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for result in results:
            n = counts.get(result, 0)
            if not n:
                continue
            h = n / ceiling * plot_h
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{COLOURS.get(result, OTHER)}" data-district="{escape(name)}" data-result="{result}" '
                       f'data-count="{n}"><title>{escape(name)} {escape(result)} {n}家</title></rect>')
            if h >= 13 and len(str(n)) * 6.5 <= bar_w:  # the count only where it fits inside the segment
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y + h / 2 + 4:.1f}" text-anchor="middle" '
                           f'class="count">{n}</text>')
        total = sum(counts.values())
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="total">{total}</text>')
        lx, ly = x + bar_w / 2, top + plot_h + 16
        turn = f' transform="rotate(-35 {lx:.1f} {ly:.1f})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="label"{turn}>{escape(name)}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" class="axis"/>')
    lx = (width - 64 * len(results)) / 2
    for j, result in enumerate(results):
        out.append(f'<rect x="{lx + 64 * j:.1f}" y="30" width="12" height="12" fill="{COLOURS.get(result, OTHER)}"/>'
                   f'<text x="{lx + 64 * j + 16:.1f}" y="40" class="legend">{escape(result)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def results_png(bars: Bars, results: Sequence[str], title: str, *, font: Path | None = None) -> bytes:
    """The same chart as a PNG (150 dpi, 16 cm wide) for the docx; MissingFont without a CJK font."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    text = title + "".join(results) + "".join(name for name, _ in bars)
    path = font or find_cjk_font(text=text)
    if not _has_glyphs(str(path), text):
        raise MissingFont(f"the font {path} lacks some of the chart's characters ({text!r}); install "
                          f"Debian's {FONT_PACKAGE}")
    prop = FontProperties(fname=str(path), size=9)
    figure = Figure(figsize=(6.3, 3.2), dpi=150)
    ax = figure.add_subplot()
    names = [name for name, _ in bars]
    xs = list(range(len(bars)))
    base = [0] * len(bars)
    for result in results:
        values = [counts.get(result, 0) for _, counts in bars]
        drawn = ax.bar(xs, values, 0.6, bottom=base, color=COLOURS.get(result, OTHER), label=result)
        room = 0.6 * 380 / max(len(bars), 1)  # points across a bar (about 380 pt of axes for 0.6-wide bars)
        ax.bar_label(drawn, labels=[str(v) if v and len(str(v)) * 5.4 <= room else "" for v in values],
                     label_type="center", color="white", fontproperties=prop)
        base = [b + v for b, v in zip(base, values, strict=True)]
    for x, total in zip(xs, base, strict=True):
        ax.annotate(str(total), (x, total), textcoords="offset points", xytext=(0, 2), ha="center",
                    fontproperties=prop)
    ceiling, ticks = _scale(max(base, default=0))
    ax.set_ylim(0, ceiling * 1.1)
    ax.set_yticks(ticks)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontproperties=prop, rotation=35 if len(bars) > 8 else 0,
                       ha="right" if len(bars) > 8 else "center")
    ax.set_ylabel("家", fontproperties=prop, rotation=0, labelpad=10)
    ax.set_title(title, fontproperties=FontProperties(fname=str(path), size=11), pad=20)
    ax.legend(prop=prop, ncols=len(results), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
