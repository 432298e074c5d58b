"""A newcomer signs up and walks the first-run path: exam and date, banks, the first five
cards, the first lab; the home page then says what to do next."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from content.services import lessons_sync
from tests.quizzes.factories import make_bank, make_question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_newcomer_walks_the_first_run_path_to_a_home_page_that_says_what_next(live_server, page):
    lessons_sync()
    make_bank(slug="starter")
    elective = make_bank(default=False, slug="elective")
    for _ in range(5):
        make_question(elective, "single")

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password:", exact=True).fill("Cloud-Hsm-2026!")
    page.get_by_label("Password confirmation").fill("Cloud-Hsm-2026!")
    page.get_by_role("button", name="Sign up").click()

    # 1. The exam: a past date is refused in the page, then a real one is kept.
    expect(page.get_by_role("heading", name="Which exam, and when?")).to_be_visible()
    page.get_by_label(re.compile(r"^Exam:?$")).select_option("SCS-C03")
    page.get_by_label("Exam date").fill("2020-01-01")
    page.get_by_role("button", name="Next: what to study").click()
    expect(page.get_by_text("The exam date is in the past")).to_be_visible()
    exam_day = dt.date.today() + dt.timedelta(days=40)
    page.get_by_label("Exam date").fill(exam_day.isoformat())
    page.get_by_role("button", name="Next: what to study").click()

    # 2. The banks: the learner picks the elective bank.
    expect(page.get_by_role("heading", name="What do you want to study?")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile(elective.title)).check()
    page.get_by_role("button", name="Next: your first cards").click()

    # 3. The first five cards, in the real review loop; the banner brings the learner back.
    expect(page.get_by_text("0 of 5 reviewed")).to_be_visible()
    page.get_by_role("link", name="Review your first cards").click()
    card = page.locator("#review-card")
    for _ in range(5):
        expect(card).to_have_attribute("data-mode", "question")
        card.locator('input[name="choice"][value="0"]').check()
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-mode", "feedback")
        page.keyboard.press("Space")
    expect(card).to_have_attribute("data-mode", "done")
    page.reload()
    banner = page.locator(".setup-banner")
    expect(banner).to_contain_text("5 of 5 done")
    banner.get_by_role("link", name="Continue setup").click()
    expect(page.get_by_text("5 of 5 reviewed")).to_be_visible()
    page.get_by_role("button", name="Next: your first lab").click()

    # 4. The first lab opens; finishing setup lands on the home page.
    page.get_by_role("link", name="Open lab 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("KMS basics")
    page.go_back()
    page.get_by_role("button", name="Finish setup").click()

    expect(page.get_by_role("heading", name="What to do next")).to_be_visible()
    expect(page.locator(".setup-banner")).to_have_count(0)
    steps = page.locator(".next-step")
    expect(steps.first).to_contain_text("All caught up")
    expect(page.get_by_role("heading", name="Your exam is in 40 days")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("lab 1: KMS basics"))).to_be_visible()
    page.get_by_role("link", name="Read", exact=True).click()
    expect(page.get_by_role("button", name="Mark as understood")).to_be_visible()
