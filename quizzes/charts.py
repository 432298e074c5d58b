"""Server-side SVG charts: no JavaScript, no inline styles (CSP), testable as text.

Colours come from classes in ``static/css/quizzes.css``; every chart has a ``<title>`` and
``<desc>`` and the page shows the same numbers in a table.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
HEIGHT = 220
TOP = 24
BOTTOM = 36
LEFT = 8
RIGHT = 8


def bar_chart(
    series: Sequence[tuple[str, int]], *, title: str, description: str, chart_id: str
) -> SafeString:
    """A bar chart of ``(label, value)`` pairs as an accessible inline SVG."""
    count = max(1, len(series))
    top_value = max([value for _, value in series] + [1])
    slot = (WIDTH - LEFT - RIGHT) / count
    bar_width = slot * 0.7
    plot_height = HEIGHT - TOP - BOTTOM
    bars = []
    for index, (label, value) in enumerate(series):
        height = plot_height * value / top_value
        x = LEFT + index * slot + (slot - bar_width) / 2
        y = TOP + plot_height - height
        center = x + bar_width / 2
        bars.append(
            (
                f"{x:.1f}",
                f"{y:.1f}",
                f"{bar_width:.1f}",
                f"{height:.1f}",
                label,
                value,
                f"{center:.1f}",
                f"{y - 6:.1f}",
                f"{HEIGHT - BOTTOM + 18:.1f}",
            )
        )
    body = format_html_join(
        "",
        '<g class="chart-bar-group"><rect class="chart-bar" x="{}" y="{}" width="{}" '
        'height="{}"><title>{}: {}</title></rect>'
        '<text class="chart-value" x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text></g>',
        (
            (x, y, w, h, label, value, cx, vy, value, cx, ly, label)
            for x, y, w, h, label, value, cx, vy, ly in bars
        ),
    )
    baseline = HEIGHT - BOTTOM
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        '<line class="chart-axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>'
        "{body}</svg>",
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        title=title,
        desc=description,
        left=LEFT,
        right=WIDTH - RIGHT,
        base=baseline,
        body=body,
    )
