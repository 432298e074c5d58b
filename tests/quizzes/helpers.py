"""Helpers that read the review form the way a browser would."""

from __future__ import annotations

import re
from typing import Any

HIDDEN_RE = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN_RE.findall(html))


def review_post(client, *, answer: dict[str, Any], htmx: bool = False, **extra: Any):
    """GET /review/, then POST its form with ``answer`` (form field → value)."""
    page = client.get("/review/")
    fields = hidden_fields(page.content.decode())
    fields.pop("csrfmiddlewaretoken", None)
    data = {**fields, **answer, **extra}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/review/answer/", data, headers=headers), fields
