import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.quizzes.factories import make_bank, make_question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_learner_reviews_five_cards_by_keyboard_then_sees_exam_readiness(
    live_server, page, make_user
):
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    make_user("keyboarder")
    bank = make_bank()
    for _ in range(5):
        make_question(bank, "single")
    log_in(page, live_server, "keyboarder")
    page.goto(live_server.url + "/review/")
    card = page.locator("#review-card")

    for number in range(5):
        expect(card).to_have_attribute("data-mode", "question")
        expect(card).to_contain_text(f"{5 - number} still due today")
        # The right option ("AWS KMS", index 0) sits wherever this showing shuffled it.
        key = card.locator('input[name="choice"][value="0"]').get_attribute("data-option-key")
        page.keyboard.press(key)
        expect(card.locator('input[name="choice"][value="0"]')).to_be_checked()
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-mode", "feedback")
        expect(card.get_by_role("heading", name="✓ Right")).to_be_visible()
        expect(card.locator("mark").first).to_have_text("Amazon RDS")
        page.keyboard.press("Space")

    expect(card).to_have_attribute("data-mode", "done")
    expect(card).to_contain_text("All caught up")
    expect(card.locator("progress")).to_have_attribute("value", "5")
    # review.js ran under the site's CSP (script-src 'self'): nothing was blocked.
    assert console_errors == []

    exam_day = dt.date.today() + dt.timedelta(days=21)
    page.goto(live_server.url + "/accounts/profile/")
    page.get_by_label("Exam date").fill(exam_day.isoformat())
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()

    page.get_by_role("link", name="Dashboard").first.click()
    readiness = page.locator("#readiness")
    expect(readiness).to_contain_text("Predicted recall on exam day")
    expect(readiness).to_contain_text("in 21 days")
    expect(readiness.locator('[data-stat="readiness"]')).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator('[data-stat="streak"]')).to_have_text("1")
    expect(page.get_by_role("img", name="Reviews due over the next 14 days")).to_be_visible()
