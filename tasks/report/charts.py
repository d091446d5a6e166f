"""Charts of the quarterly report, as SVG to put inline in the HTML.

matplotlib draws every glyph as a path (`svg.fonttype = path`), so a chart looks the same on a
machine without Chinese fonts and the report needs nothing from the network. The glyphs come
from Noto Sans CJK SC (Debian `fonts-noto-cjk`); without it, Chinese labels would be empty
boxes, so a missing font stops the report with the fix in the message. The SVG bytes are
deterministic (fixed hash salt, no date), so an unchanged quarter renders an unchanged report.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FONT_FAMILY = "Noto Sans CJK SC"
STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
    "axes.unicode_minus": False,  # the CJK font has no U+2212 minus sign
    "svg.fonttype": "path",
    "svg.hashsalt": "liandong-quarterly",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "font.size": 10,
}
COLORS = ("#b91c1c", "#2563eb", "#059669", "#d97706", "#7c3aed")


class ChartFontMissing(RuntimeError):
    """The CJK font is not installed; the message is bilingual and says how to install it."""


@cache
def ensure_cjk_font() -> str:
    """The font file; a font installed after matplotlib cached its font list is added here."""
    wanted = font_manager.FontProperties(family=FONT_FAMILY)
    try:
        return font_manager.findfont(wanted, fallback_to_default=False)
    except ValueError:
        for path in font_manager.findSystemFonts():
            if "NotoSansCJK" in path:
                font_manager.fontManager.addfont(path)
    try:
        return font_manager.findfont(wanted, fallback_to_default=False)
    except ValueError:
        raise ChartFontMissing(
            f"未安装中文字体 {FONT_FAMILY}，图表中的汉字无法显示：请安装 Debian 软件包 fonts-noto-cjk"
            f"（apt-get install fonts-noto-cjk）/ the font {FONT_FAMILY} is missing, so Chinese labels"
            f" cannot be drawn: install the Debian package fonts-noto-cjk") from None


def trend_chart(title: str, quarters: Sequence[str], series: dict[str, Sequence[float | None]]) -> str:
    """Rates (0–1) per quarter, one line each; a quarter without a rate leaves a gap."""
    with _chart(7.2, 3.2) as (fig, ax):
        for (name, values), color in zip(series.items(), COLORS):
            ax.plot(range(len(quarters)), [float("nan") if v is None else 100 * v for v in values], marker="o",
                    color=color, label=name)
        ax.set_xticks(range(len(quarters)), quarters)
        ax.set_xlim(-0.5, len(quarters) - 0.5)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title(title, loc="left")
        ax.legend(loc="lower left", ncols=len(series), frameon=False, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        return _svg(fig)


def grouped_bars(title: str, labels: Sequence[str], series: dict[str, Sequence[int]]) -> str:
    """Counts per label, one bar of each series side by side."""
    with _chart(7.2, 3.2) as (fig, ax):
        width = 0.8 / max(len(series), 1)
        for i, ((name, values), color) in enumerate(zip(series.items(), COLORS)):
            positions = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
            bars = ax.bar(positions, values, width=width, color=color, label=name)
            ax.bar_label(bars, fontsize=8, padding=2)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_title(title, loc="left")
        ax.legend(loc="upper left", ncols=len(series), frameon=False, fontsize=9)
        ax.margins(y=0.15)
        return _svg(fig)


def rate_bars(title: str, labels: Sequence[str], rates: Sequence[float | None]) -> str:
    """One horizontal bar per label (a unit, a category) with its rate in %, in the given order."""
    with _chart(7.2, 0.9 + 0.34 * max(len(labels), 1)) as (fig, ax):
        bars = ax.barh(range(len(labels)), [0 if r is None else 100 * r for r in rates], color=COLORS[0], height=0.6)
        ax.bar_label(bars, labels=["—" if r is None else f"{100 * r:.1f}%" for r in rates], fontsize=8, padding=3)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 112)
        ax.set_title(title, loc="left")
        return _svg(fig)


@contextmanager
def _chart(width: float, height: float) -> Iterator[tuple[Figure, Axes]]:
    # Text takes its font when it is created and the SVG its salt when saved: the whole chart is
    # drawn inside the style, which never touches matplotlib's global settings.
    ensure_cjk_font()
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        yield fig, fig.add_subplot()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline in HTML: the <svg> element without the XML prolog and DOCTYPE.
    return text[text.index("<svg"):]
