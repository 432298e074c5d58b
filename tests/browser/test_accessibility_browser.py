"""axe-core on the key pages, in light and dark mode, on a desktop and at phone width (390×844):
zero serious or critical violations, and no page wider than the phone's screen."""

from __future__ import annotations

import pytest

from .tour import AXE, STOPS, axe_violations, build_world, log_in, overflow, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_key_pages_pass_axe_and_fit_the_screen(live_server, browser, tmp_path, device, scheme):
    world = build_world(tmp_path)
    problems: list[str] = []
    for account in {stop.account for stop in STOPS}:
        context = browser.new_context(viewport=VIEWPORTS[device], color_scheme=scheme)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        log_in(page, live_server.url, account)
        for stop in (stop for stop in STOPS if stop.account == account):
            stop.visit(page, live_server.url, world)
            settle(page)
            problems += [f"{stop.name}: {line}" for line in axe_violations(page)]
            if device == "phone" and (wider := overflow(page)):
                problems.append(f"{stop.name}: {wider}")
        context.close()
    assert not problems, "\n".join(problems)
