"""`make screenshots`: the README's pictures, taken on the tour's pages with the demo content.
Not part of the suite (its name does not start with test_); run it explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from .tour import STOPS, build_world, log_in, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = {
    # stop name: (viewport, colour scheme, what to scroll to the top, if not the page's top)
    "home": ((1280, 800), "light", None),
    "lesson": ((1280, 800), "light", None),
    "review": ((1280, 800), "light", None),
    "dashboard": ((1280, 800), "dark", None),
    "exam-result": ((1280, 800), "light", None),
    "console": ((1280, 800), "dark", "#architecture"),
    "lab": ((1280, 800), "light", None),
    "editor": ((1280, 800), "light", None),
    "drill": ((390, 844), "light", None),
}


def test_take_the_readme_screenshots(live_server, browser, tmp_path):
    world = build_world(tmp_path)
    OUT.mkdir(parents=True, exist_ok=True)
    for stop in STOPS:
        if stop.name not in SHOTS:
            continue
        (width, height), scheme, anchor = SHOTS[stop.name]
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        page = context.new_page()
        log_in(page, live_server.url, stop.account)
        stop.visit(page, live_server.url, world)
        settle(page)
        page.evaluate("window.scrollTo(0, 0)")
        if anchor:
            page.locator(anchor).evaluate("element => element.scrollIntoView()")
        page.screenshot(path=OUT / f"{stop.name}.png", animations="disabled")
        context.close()
        assert (OUT / f"{stop.name}.png").stat().st_size > 10_000
