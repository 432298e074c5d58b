"""The product's key pages, reached the way a person reaches them. The accessibility and
phone-width run and `make screenshots` walk the same list, on the demo content."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from quizzes.services_author import bank_create
from quizzes.services_exam import exam_finish, exam_start
from tests.quizzes.factories import make_question

LEARNER = ("demo-learner", "learn-kms-2026")
INSTRUCTOR = ("demo-instructor", "teach-hsm-2026")
AXE = Path(__file__).with_name("vendor") / "axe.min.js"

GIFT = """\
// A small import, shown in the preview before anything is written.
::gift-kms-rds:: Which service does Amazon RDS call to encrypt a DB instance's storage? {
=AWS KMS # RDS integrates with KMS natively.
~AWS CloudHSM # RDS does not call CloudHSM directly.
}
"""


@dataclass(frozen=True)
class World:
    exam_in_progress: int
    exam_position: int  # a keyword-match question: the widest input
    exam_result: int
    question: int
    gift_file: Path


@dataclass(frozen=True)
class Stop:
    name: str  # also the screenshot's file name
    title: str
    account: tuple[str, str]
    visit: Callable[[Page, str, World], None]


def build_world(tmp_path: Path) -> World:
    """The demo content (lessons, starter bank, drills, demo accounts), a finished and a
    running exam for the learner, and a bank of the instructor's own."""
    call_command("load_demo", stdout=StringIO())
    learner = User.objects.get(username=LEARNER[0])
    finished = exam_start(user=learner, kind="custom", now=timezone.now(), rng=random.Random(0))
    exam_finish(exam=finished, now=timezone.now())
    for seed in range(100):  # the first seed whose short exam has a keyword-match question
        running = exam_start(
            user=learner, kind="custom", now=timezone.now(), rng=random.Random(seed)
        )
        widest = running.items.filter(question__type="match").order_by("position").first()
        if widest is not None:
            break
        running.delete()
    assert widest is not None, "no short exam of the starter bank has a keyword-match question"
    bank = bank_create(owner=User.objects.get(username=INSTRUCTOR[0]), title="My HSM questions")
    question = make_question(bank, "single")
    gift = tmp_path / "more-questions.gift"
    gift.write_text(GIFT, encoding="utf-8")
    return World(running.pk, widest.position, finished.pk, question.pk, gift)


def log_in(page: Page, base: str, account: tuple[str, str]) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _go(path: str, ready: str = "main h1") -> Callable[[Page, str, World], None]:
    def visit(page: Page, base: str, world: World) -> None:
        page.goto(base + path.format(world=world))
        expect(page.locator(ready).first).to_be_visible()

    return visit


def _review_while_answering(page: Page, base: str, world: World) -> None:
    page.goto(base + "/review/")
    card = page.locator("#review-card")
    expect(card).to_have_attribute("data-mode", "question")
    card.locator('input[name="choice"]').first.check()


def _console_with_output(page: Page, base: str, world: World) -> None:
    page.goto(base + "/sandbox/")
    command = page.locator("#console-command")
    command.fill("aws kms create-key --description 'tour key'")
    command.press("Enter")
    expect(page.locator("#console-transcript > li")).to_have_count(1)


def _import_preview(page: Page, base: str, world: World) -> None:
    page.goto(base + "/author/import/")
    page.get_by_label("File").set_input_files(str(world.gift_file))
    page.get_by_label("Import into").select_option(label="My HSM questions")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("1 question found")).to_be_visible()


STOPS = [
    Stop("home", "Home: what to do next", LEARNER, _go("/")),
    Stop("welcome", "First-run path: the exam step", LEARNER, _go("/welcome/exam/")),
    Stop("lesson", "A lesson", LEARNER, _go("/lessons/cloudhsm-vs-kms/")),
    Stop("review", "Review, while answering", LEARNER, _review_while_answering),
    Stop("drill", "Keyword drill", LEARNER, _go("/drill/")),
    Stop("dashboard", "Dashboard", LEARNER, _go("/dashboard/")),
    Stop(
        "exam",
        "Mock exam in progress",
        LEARNER,
        _go("/exams/{world.exam_in_progress}/q/{world.exam_position}/"),
    ),
    Stop("exam-result", "Exam result", LEARNER, _go("/exams/{world.exam_result}/result/")),
    Stop("console", "Sandbox console", LEARNER, _console_with_output),
    Stop("lab", "A guided lab", LEARNER, _go("/sandbox/labs/kms-basics/")),
    Stop("not-found", "Page not found", LEARNER, _go("/no-such-page/")),
    Stop("editor", "Question editor", INSTRUCTOR, _go("/author/questions/{world.question}/")),
    Stop("import-preview", "Import preview", INSTRUCTOR, _import_preview),
]


def settle(page: Page) -> None:
    """Wait until no htmx request, swap or settle is under way."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one line each.
    Needs the context's init script (``AXE``), which CSP does not block."""
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.impact} ${v.id}: ${v.help} at `
                    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }"""
    )
    return list(found)


def overflow(page: Page) -> str:
    """Empty when the page fits its viewport; else how much wider it is and the outermost
    elements that stick out past the right edge (their parents still fit)."""
    return str(
        page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                const extra = document.documentElement.scrollWidth - width;
                if (extra <= 0) return "";
                const out = [...document.querySelectorAll("body *")]
                    .filter(e => e.getBoundingClientRect().right > width + 1)
                    .filter(e => e.parentElement.getBoundingClientRect().right <= width + 1)
                    .slice(0, 3)
                    .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
                return `${extra} px wider than the screen: ${out.join(", ")}`;
            }"""
        )
    )
