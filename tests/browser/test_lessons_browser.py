import re

import pytest
from playwright.sync_api import expect

from content.services import lessons_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_learner_reads_a_lesson_and_marks_it_understood(live_server, page):
    lessons_sync()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newlearner")
    page.get_by_label("Password:", exact=True).fill("Cloud-Hsm-2026!")
    page.get_by_label("Password confirmation").fill("Cloud-Hsm-2026!")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/welcome/exam/$"))  # the first-run path; skip it
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lessons").click()
    expect(page.get_by_text("You understand 0 of 7 lessons.")).to_be_visible()

    page.get_by_role("link", name="Custom key stores", exact=False).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    toc = page.get_by_role("navigation", name="On this page")
    first_entry = toc.get_by_role("link").first
    target = first_entry.get_attribute("href")
    first_entry.click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    expect(page.locator(target)).to_be_in_viewport()

    page.get_by_role("button", name="Mark as understood").click()
    expect(page.get_by_text("Understood ✓")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lessons").click()
    expect(page.get_by_text("You understand 1 of 7 lessons.")).to_be_visible()


def test_which_service_walkthrough_with_htmx(live_server, page):
    page.goto(live_server.url + "/lessons/which-service/")
    question = page.locator("#current-question")
    first_question = question.inner_text()
    page.locator(".answer-buttons a").first.click()
    expect(page.locator(".walk-answered").first).to_contain_text(first_question)
    for _ in range(12):
        if page.locator(".walk-result").count():
            break
        page.locator(".answer-buttons a").first.click()
        page.wait_for_timeout(100)
    expect(page.locator(".walk-result")).to_be_visible()
    page.get_by_role("link", name="Start over").click()
    expect(page.locator("#current-question")).to_have_text(first_question)


def test_lesson_page_fits_a_phone_screen(live_server, browser):
    lessons_sync()
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(live_server.url + "/lessons/cloudhsm-vs-kms/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    expect(page.get_by_role("img", name=re.compile("CloudHSM architecture", re.I))).to_be_visible()
    context.close()
