"""What a person does that a form did not plan for: a second click, a stale tab, the back
button after an exam, nonsense in the console, a broken upload, an oversized value. Each gets
a clear message in the page; the autouse log check fails any test whose server logged an error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from quizzes.models import Exam, Question
from quizzes.services_author import bank_create
from tests.quizzes.factories import make_bank, make_question

from .test_author_browser import log_in as log_in_as
from .test_review_browser import log_in
from .test_sandbox_browser import Console

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIFT = """\
::gift-one:: Which service offers single-tenant HSMs? {=AWS CloudHSM ~AWS KMS}

::gift-two:: Which service integrates natively with Amazon S3? {=AWS KMS ~AWS CloudHSM}
"""


def hold_first(route, held: list) -> None:
    """Keep the first matching request waiting (the test releases it); let later ones pass."""
    if held:
        route.continue_()
    else:
        held.append(route)


def test_a_long_import_says_it_is_working_and_a_second_click_imports_nothing_twice(
    live_server, page, instructor, tmp_path
):
    bank = bank_create(owner=instructor, title="Imported")
    upload = tmp_path / "two.gift"
    upload.write_text(GIFT, encoding="utf-8")
    log_in_as(page, live_server, "instructor")
    page.goto(live_server.url + "/author/import/")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_label("Import into").select_option(str(bank.pk))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("2 questions found")).to_be_visible()

    # A held navigation would hold Playwright's locators too: the page records what the
    # learner sees just after the click, and clicks again, before the answer arrives.
    page.evaluate(
        """() => document.addEventListener("submit", () => setTimeout(() => {
            const button = document.querySelector("form[aria-busy] button[value=confirm]");
            sessionStorage.setItem("seen", JSON.stringify(button && [button.textContent, button.disabled]));
            if (button) button.click();  // the impatient second click
        }))"""
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("2 new, 0 updated, 0 unchanged.")).to_be_visible()
    assert page.evaluate("JSON.parse(sessionStorage.getItem('seen'))") == ["Importing…", True]
    assert Question.objects.filter(bank=bank).count() == 2


def test_grading_a_lab_shows_progress_until_the_result_arrives(live_server, page, learner):
    log_in(page, live_server, "learner")
    page.goto(live_server.url + "/sandbox/labs/kms-basics/")
    held = []
    page.route(re.compile(r"/check/$"), lambda route: hold_first(route, held))
    page.get_by_role("button", name="Check my work").click()
    expect(page.get_by_role("button", name="Checking your work…")).to_be_disabled()
    held[0].continue_()
    expect(page.get_by_role("button", name="Check my work")).to_be_enabled()
    expect(page.locator("#lab-steps li.step").first).to_be_visible()


def test_a_stale_exam_tab_and_the_back_button_after_submitting_say_the_exam_is_closed(
    live_server, page, learner
):
    bank = make_bank()
    for _ in range(2):
        make_question(bank, "single")
    log_in(page, live_server, "learner")
    page.goto(live_server.url + "/exams/")
    page.get_by_label(re.compile("Short custom exam")).check()
    page.get_by_role("button", name="Start the exam").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Question 1")

    stale = page.context.new_page()
    stale.goto(page.url)
    page.get_by_role("button", name="Review and submit").click()
    page.get_by_role("button", name="Submit the exam").dblclick()
    expect(page.get_by_role("heading", name=re.compile(r"Score \d+ \/ 1000"))).to_be_visible()
    assert Exam.objects.get().status == Exam.Status.SUBMITTED
    # The double click sent the form once: no "already submitted" from a second request.
    expect(page.get_by_text("Exam submitted.")).to_be_visible()
    expect(page.get_by_text("This exam is already submitted")).to_have_count(0)

    # The other tab still shows question 1: changing an answer lands on the result.
    with stale.expect_response(re.compile(r"/save/$")) as saved:
        stale.get_by_label("AWS KMS").click()  # the page goes away: nothing to verify checked
    assert saved.value.headers["hx-redirect"].endswith("/result/")
    stale.wait_for_url(re.compile(r"/result/$"))
    expect(stale.get_by_text("This exam is already submitted")).to_be_visible()
    expect(stale.get_by_role("heading", name=re.compile(r"Score \d+ \/ 1000"))).to_be_visible()

    # Back to the submit page: it is asked for again, and says the exam is closed.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/result/$"))
    expect(page.get_by_text("This exam is already submitted")).to_be_visible()


def test_nonsense_in_the_console_is_an_error_line_not_a_crash(live_server, page, learner):
    log_in(page, live_server, "learner")
    page.goto(live_server.url + "/sandbox/")
    console = Console(page)
    for nonsense in (
        "rm -rf /",
        "aws kms",
        "aws kms encrypt --key-id",
        "'unterminated",
        "x" * 5000,
    ):
        output = console.run(nonsense, ok=False)
        assert output.strip(), nonsense
        assert "Traceback" not in output
    assert '"Keys"' in console.run("aws kms list-keys")  # and the console still answers
    expect(page.locator("#console-transcript > li.failed")).to_have_count(5)


def test_a_broken_upload_and_an_oversized_title_are_field_errors(
    live_server, page, instructor, tmp_path
):
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(b"\xff\xfe not: [yaml")
    log_in_as(page, live_server, "instructor")
    page.goto(live_server.url + "/author/import/")
    page.get_by_label("File").set_input_files(str(broken))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator(".errorlist, .form-errors").first).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(live_server.url + "/author/banks/new/")
    title = page.get_by_label("Title")
    title.evaluate("element => element.removeAttribute('maxlength')")
    title.fill("T" * 5000)
    page.get_by_role("button", name="Create bank").click()
    expect(page.get_by_text(re.compile(r"at most \d+ characters"))).to_be_visible()
