import re

import pytest
from playwright.sync_api import expect

from tests.quizzes.factories import make_bank, make_question

from .test_review_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_learner_takes_a_short_exam_reloads_midway_and_sees_the_breakdown(
    live_server, page, make_user
):
    make_user("examinee")
    bank = make_bank()
    for topics in (["kms"], ["kms"], ["cloudhsm"], ["cloudhsm"]):
        make_question(bank, "single", topics=topics)
    log_in(page, live_server, "examinee")

    page.goto(live_server.url + "/exams/")
    page.get_by_label(re.compile("Short custom exam")).check()
    page.get_by_role("button", name="Start the exam").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Question 1")
    status = page.locator("#exam-status")
    expect(status).to_contain_text("Time left")

    # Question 1: right answer, autosaved on change.
    page.get_by_label("AWS KMS").check()
    expect(status).to_contain_text("Saved at")
    expect(status).to_contain_text("1 of 4 answered")
    page.get_by_role("button", name="Save and next →").click()

    # Question 2: a wrong answer and a flag, then the connection "drops": reload.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Question 2")
    page.get_by_label("Amazon Macie").check()
    expect(status).to_contain_text("Saved at")
    page.get_by_label("Flag for review").check()
    expect(status).to_contain_text("1 flagged")
    page.reload()
    expect(page.get_by_label("Amazon Macie")).to_be_checked()
    expect(page.get_by_label("Flag for review")).to_be_checked()
    navigator = page.get_by_role("navigation", name="Questions")
    expect(navigator.get_by_role("link", name="Question 2, answered, flagged")).to_be_visible()

    navigator.get_by_role("link", name=re.compile(r"^Question 1,")).click()
    expect(page.get_by_label("AWS KMS")).to_be_checked()

    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_text("2 unanswered")).to_be_visible()
    page.get_by_role("button", name="Submit the exam").click()

    expect(page.get_by_role("heading", name=re.compile(r"Score \d+ \/ 1000"))).to_be_visible()
    expect(page.get_by_text("1 of 4 questions right (25%)")).to_be_visible()
    breakdown = page.locator("[data-breakdown]")
    expect(breakdown.get_by_role("row", name=re.compile("^KMS"))).to_be_visible()
    expect(breakdown.get_by_role("row", name=re.compile("^CloudHSM"))).to_be_visible()
    expect(page.locator(".exam-review-item")).to_have_count(4)
    expect(page.get_by_text("RDS calls KMS for you.").first).to_be_visible()
