"""An instructor builds a bank in the browser; a learner then reviews its questions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIFT = """\
::gift-kms-rds:: Amazon RDS encrypts at rest with keys from which service? {
=AWS KMS # RDS integrates natively with KMS.
~AWS CloudHSM # RDS cannot call your cluster directly.
}

::gift-tenancy:: An AWS CloudHSM cluster's HSMs are single-tenant. {T}
"""

MATCH_PROMPT = "Match each keyword to the service that owns it."


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def build_bank(page, live_server, tmp_path) -> None:
    page.get_by_role("link", name="Author").click()
    page.get_by_role("link", name="New bank").click()
    page.get_by_label("Title").fill("HSM keywords")
    page.get_by_role("button", name="Create bank").click()
    expect(page.get_by_role("heading", name="HSM keywords", level=1)).to_be_visible()

    # A keyword-match question, written with the live preview.
    page.get_by_role("link", name="Keyword match").click()
    preview = page.locator("#preview")
    page.get_by_label("Prompt").press_sequentially("Match each **keyword** to the service")
    expect(preview.locator(".prompt strong").first).to_have_text("keyword")  # keyup → htmx
    prompt = page.get_by_label("Prompt")
    prompt.press_sequentially(" that owns it.")
    for number, (left, right) in enumerate(
        [("PKCS #11", "AWS CloudHSM"), ("Key policy", "AWS KMS"), ("Crypto user", "AWS CloudHSM")]
    ):
        page.locator(f"#id_pairs-{number}-left").fill(left)
        page.locator(f"#id_pairs-{number}-right").press_sequentially(right)
    expect(preview.get_by_label("Crypto user")).to_be_visible()

    # Rows come and go through htmx, keeping what was typed.
    page.get_by_role("button", name="Add pair").click()
    expect(page.locator("#id_pairs-3-left")).to_be_focused()
    page.locator("#id_pairs-3-left").fill("Grant")
    page.get_by_role("button", name="Remove pair 4").click()
    expect(page.locator("#id_pairs-3-left")).to_have_count(0)
    expect(page.locator("#id_pairs-0-left")).to_have_value("PKCS #11")

    page.get_by_label("Tags (topics)").fill("keywords, cloudhsm")
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text(re.compile("Question “match-each-keyword.*” created"))).to_be_visible()

    # Publish the bank (htmx swaps the visibility box).
    page.get_by_role("button", name="Publish bank").click()
    expect(page.get_by_role("button", name="Unpublish bank")).to_be_visible()

    # Import a GIFT file into it: preview first, then confirm.
    gift = tmp_path / "more-questions.gift"
    gift.write_text(GIFT, encoding="utf-8")
    page.get_by_role("link", name="Import questions").click()
    page.get_by_label("File").set_input_files(str(gift))
    expect(page.get_by_label("Import into")).to_have_value(re.compile(r"^\d+$"))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("2 questions found")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("gift-kms-rds"))).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("2 new, 0 updated, 0 unchanged.")).to_be_visible()
    expect(page.locator(".question-table tbody tr")).to_have_count(3)


def answer_current_card(card) -> str:
    """Answer whatever question is shown; returns its prompt."""
    prompt = card.locator(".prompt").first.inner_text()
    selects = card.locator("select")
    if selects.count():
        for index in range(selects.count()):
            selects.nth(index).select_option(index=1)
    else:
        card.locator('input[name="choice"]').first.check()
    card.get_by_role("button", name=re.compile("Check answer")).click()
    expect(card).to_have_attribute("data-mode", "feedback")
    return prompt


def test_an_instructor_builds_a_bank_and_a_learner_reviews_it(
    live_server, page, make_user, tmp_path
):
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    make_user("teacher", instructor=True)
    make_user("student")

    log_in(page, live_server, "teacher")
    build_bank(page, live_server, tmp_path)
    log_out(page)

    log_in(page, live_server, "student")
    page.goto(live_server.url + "/review/banks/")
    page.get_by_role("checkbox", name=re.compile("HSM keywords")).check()
    page.get_by_role("button", name="Save my banks").click()
    expect(page.get_by_text("You now study 1 bank(s).")).to_be_visible()

    page.goto(live_server.url + "/review/")
    card = page.locator("#review-card")
    seen = []
    for _ in range(3):
        expect(card).to_have_attribute("data-mode", "question")
        seen.append(answer_current_card(card))
        card.get_by_role("link", name=re.compile("Continue")).click()

    assert sorted(seen) == sorted(
        [
            MATCH_PROMPT,
            "Amazon RDS encrypts at rest with keys from which service?",
            "An AWS CloudHSM cluster's HSMs are single-tenant.",
        ]
    )
    expect(card).to_have_attribute("data-mode", "done")
    # author.js, htmx and review.js ran under the site's CSP: nothing was blocked.
    assert console_errors == []
