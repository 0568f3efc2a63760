"""Inline SVG bar charts, drawn on the server so the page needs no JavaScript.

A chart is a list of bars; each bar is split into parts (used / held / free, or open / suspended / none) whose
lengths are in proportion to the bar's total, with the numbers written beside it for anyone who cannot see colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 190
BAR_WIDTH = 300
ROW_HEIGHT = 30
BAR_HEIGHT = 18
LEGEND_HEIGHT = 30


@dataclass(frozen=True)
class Part:
    name: str
    css_class: str


@dataclass(frozen=True)
class Bar:
    label: str
    values: tuple[int, ...]  # one per part, in the chart's part order
    summary: str  # the numbers in words, written to the right of the bar


SEAT_PARTS = (Part("used", "seat-used"), Part("held by an invitation", "seat-held"), Part("free", "seat-free"))
ACCESS_PARTS = (
    Part("can open", "access-open"),
    Part("suspended", "access-suspended"),
    Part("no access", "access-none"),
)


def bar_chart_svg(
    *, chart_id: str, title: str, description: str, parts: tuple[Part, ...], bars: list[Bar]
) -> SafeString:
    height = LEGEND_HEIGHT + max(len(bars), 1) * ROW_HEIGHT + 6
    pieces: list[str] = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {} {}" width="100%" role="img" '
            'aria-labelledby="{}-title {}-desc" preserveAspectRatio="xMinYMin meet">'
            '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
            WIDTH,
            height,
            chart_id,
            chart_id,
            chart_id,
            title,
            chart_id,
            description,
        )
    ]
    x = LABEL_WIDTH
    for part in parts:
        pieces.append(
            format_html(
                '<rect class="{}" x="{}" y="6" width="14" height="14" rx="2"/>'
                '<text class="chart-legend" x="{}" y="18">{}</text>',
                part.css_class,
                x,
                x + 20,
                part.name,
            )
        )
        x += 34 + 7 * len(part.name)
    if not bars:
        pieces.append(
            format_html('<text class="chart-label" x="0" y="{}">{}</text>', LEGEND_HEIGHT + 18, "Nothing to show yet.")
        )
    for index, bar in enumerate(bars):
        y = LEGEND_HEIGHT + index * ROW_HEIGHT
        total = sum(bar.values)
        pieces.append(
            format_html(
                '<g class="chart-row"><title>{}: {}</title><text class="chart-label" x="{}" y="{}" '
                'text-anchor="end">{}</text>',
                bar.label,
                bar.summary,
                LABEL_WIDTH - 8,
                y + BAR_HEIGHT - 4,
                _shorten(bar.label, 26),
            )
        )
        pieces.append(
            format_html(
                '<rect class="chart-track" x="{}" y="{}" width="{}" height="{}" rx="3"/>',
                LABEL_WIDTH,
                y,
                BAR_WIDTH,
                BAR_HEIGHT,
            )
        )
        offset = 0.0
        for part, value in zip(parts, bar.values, strict=True):
            if value <= 0 or total <= 0:
                continue
            length = BAR_WIDTH * value / total
            pieces.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>',
                    part.css_class,
                    f"{LABEL_WIDTH + offset:.1f}",
                    y,
                    f"{length:.1f}",
                    BAR_HEIGHT,
                )
            )
            offset += length
        pieces.append(
            format_html(
                '<text class="chart-value" x="{}" y="{}">{}</text></g>',
                LABEL_WIDTH + BAR_WIDTH + 10,
                y + BAR_HEIGHT - 4,
                bar.summary,
            )
        )
    pieces.append("</svg>")
    return mark_safe("".join(pieces))  # every piece above went through format_html


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
