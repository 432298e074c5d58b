"""Markdown → sanitized HTML, shared by lessons and instructor-authored questions.

Rendering happens once (on sync or save), never per request. nh3 removes anything a source
could use to run script: tags, event handlers, ``javascript:`` URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img", "kbd", "li", "mark", "ol", "p", "pre",
    "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "style"},
    "th": {"align", "style"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str
    headings: list[dict[str, str]]  # [{"id": ..., "name": ..., "level": ...}]


def _sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
    )


def _flatten(tokens: list[dict[str, Any]], out: list[dict[str, str]]) -> list[dict[str, str]]:
    for token in tokens:
        out.append({"id": token["id"], "name": token["name"], "level": str(token["level"])})
        _flatten(token.get("children", []), out)
    return out


def render_markdown(text: str, *, with_toc: bool = False) -> Rendered:
    md = markdown.Markdown(
        extensions=["tables", "fenced_code", "admonition", "toc", "sane_lists", "attr_list"],
        extension_configs={
            "toc": {"permalink": "#", "permalink_title": "Link to this section", "toc_depth": "2-3"}
        },
        output_format="html",
    )
    html = md.convert(text)
    toc_html = _sanitize(getattr(md, "toc", "")) if with_toc else ""
    headings = _flatten(getattr(md, "toc_tokens", []), []) if with_toc else []
    return Rendered(html=_sanitize(html), toc_html=toc_html, headings=headings)


def render_inline(text: str) -> str:
    """Short Markdown (question prompts, options, explanations) without a table of contents."""
    return render_markdown(text).html
