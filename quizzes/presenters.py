"""How a question shows on a page: its options in the shown order, and after an answer the
per-option feedback, the right answer and the deciding keyword highlighted.

Options, pairs and steps are shuffled per showing. Inputs carry the revision's own indexes
as values, so grading never depends on the order; the shown order travels in the form
(``shown``) only so feedback can be listed the way the learner saw it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .forms_learn import TRUE_FALSE, DrillAnswerForm
from .grading import Grade, answer_is_blank, correct_answer, grade, match_choices
from .models import Exam, KeywordAttempt, KeywordDrill
from .selectors import confusions_for, drill_round_for, percent
from .selectors_progress import topic_label
from .services_exam import PASS_SCALED

_TAG_RE = re.compile(r"(<[^>]*>)")


def highlight_keyword(rendered_html: str, keyword: str) -> SafeString:
    """Wrap each occurrence of ``keyword`` in the (sanitized) HTML's text in ``<mark>``.

    Only text between tags is touched, so attributes and markup stay intact.
    """
    if not keyword:
        return mark_safe(rendered_html)  # noqa: S308 - sanitized with nh3 when saved
    pattern = re.compile(re.escape(keyword), re.IGNORECASE)
    parts = _TAG_RE.split(rendered_html)
    for index, part in enumerate(parts):
        if index % 2 or not part:
            continue
        text = html.unescape(part)
        if not pattern.search(text):
            continue
        pieces, last = [], 0
        for match in pattern.finditer(text):
            pieces.append(html.escape(text[last : match.start()], quote=False))
            pieces.append(f"<mark>{html.escape(match.group(0), quote=False)}</mark>")
            last = match.end()
        pieces.append(html.escape(text[last:], quote=False))
        parts[index] = "".join(pieces)
    return mark_safe("".join(parts))  # noqa: S308 - text re-escaped above


def lesson_url(lesson: str) -> str:
    if not lesson:
        return ""
    slug, _, anchor = lesson.partition("#")
    url = reverse("lesson_detail", args=[slug])
    return f"{url}#{anchor}" if anchor else url


@dataclass
class ShownQuestion:
    """Everything a template needs to show a question, and after answering, its feedback."""

    type: str
    prompt: SafeString
    shown: list[int]
    options: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    select_count: int = 0
    answered: bool = False
    grade: Grade | None = None
    explanation: SafeString | None = None
    exam_vs_today: SafeString | None = None
    keyword: str = ""
    lesson_url: str = ""
    positions: list[int] = field(default_factory=list)
    steps_in_order: list[dict[str, Any]] = field(default_factory=list)

    @property
    def shown_text(self) -> str:
        return ",".join(str(i) for i in self.shown)

    @property
    def select_label(self) -> str:
        """ "Select TWO." as the exams word it."""
        words = {2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
        return f"Select {words.get(self.select_count, self.select_count)}."


def show_question(
    revision_data: Mapping[str, Any],
    rendered: Mapping[str, Any],
    shown: list[int],
    *,
    answer: Any = None,
    reveal: bool = False,
) -> ShownQuestion:
    """Build the view of a question in the ``shown`` order; ``reveal`` adds feedback."""
    data = revision_data
    qtype = data["type"]
    keyword = data.get("keyword") or ""
    result = grade(data, answer) if reveal else None
    prompt = (
        highlight_keyword(rendered.get("prompt", ""), keyword)
        if reveal
        else mark_safe(rendered.get("prompt", ""))  # noqa: S308 - sanitized with nh3 when saved
    )
    view = ShownQuestion(
        type=qtype,
        prompt=prompt,
        shown=list(shown),
        answered=reveal,
        grade=result,
        keyword=keyword,
    )
    if reveal:
        view.explanation = mark_safe(rendered.get("explanation", ""))  # noqa: S308
        if rendered.get("exam_vs_today"):
            view.exam_vs_today = mark_safe(rendered["exam_vs_today"])  # noqa: S308
        view.lesson_url = lesson_url(data.get("lesson") or "")
    if qtype in ("single", "multiple"):
        chosen = _chosen_options(qtype, answer)
        rendered_options = rendered.get("options") or []
        view.select_count = sum(1 for o in data.get("options") or [] if o.get("correct"))
        for number, index in enumerate(shown, 1):
            option = data["options"][index]
            html_option = rendered_options[index] if index < len(rendered_options) else {}
            view.options.append(
                {
                    "index": index,
                    "number": number,
                    "html": mark_safe(html_option.get("text", "")),  # noqa: S308
                    "feedback": mark_safe(html_option.get("feedback", "")),  # noqa: S308
                    "correct": bool(option.get("correct")),
                    "chosen": index in chosen,
                }
            )
    elif qtype == "truefalse":
        for number, (value, label) in enumerate(TRUE_FALSE, 1):
            view.options.append(
                {
                    "index": value,
                    "number": number,
                    "html": label,
                    "feedback": "",
                    "correct": (value == "true") == bool(data.get("answer")),
                    "chosen": answer is not None and (value == "true") == answer,
                }
            )
    elif qtype == "match":
        pairs = data.get("pairs") or []
        picked = list(answer or []) + [None] * len(pairs)
        view.choices = match_choices(data)
        for index in shown:
            view.pairs.append(
                {
                    "index": index,
                    "left": pairs[index]["left"],
                    "right": pairs[index]["right"],
                    "chosen": picked[index],
                    "ok": picked[index] == pairs[index]["right"],
                }
            )
    elif qtype == "order":
        steps = rendered.get("steps") or [html.escape(step) for step in data.get("steps") or []]
        placed = list(answer or []) + [None] * len(steps)
        view.positions = list(range(1, len(steps) + 1))
        for index in shown:
            view.steps.append(
                {
                    "index": index,
                    "html": mark_safe(steps[index]),  # noqa: S308 - sanitized when saved
                    "position": index + 1,
                    "chosen": placed[index],
                    "ok": placed[index] == index + 1,
                }
            )
        if reveal:
            view.steps_in_order = sorted(view.steps, key=lambda step: step["position"])
    return view


def _chosen_options(qtype: str, answer: Any) -> set[int]:
    if qtype == "single":
        return {answer} if isinstance(answer, int) else set()
    return set(answer or [])


def exam_navigator_html(entries: list[dict[str, Any]]) -> SafeString:
    """The exam's question links (``views_exam._navigator`` entries) as an ``<ol>``. Built here
    rather than in a template loop: the exam page and every answer save show all of them."""
    items = []
    for entry in entries:
        position = int(entry["position"])
        states = [name for name in ("answered", "flagged", "current") if entry[name]]
        label = f"Question {position}, " + ("answered" if entry["answered"] else "not answered")
        items.append(
            f'<li><a href="{html.escape(entry["url"])}" class="nav-q'
            + "".join(f" is-{name}" for name in states)
            + '"'
            + (' aria-current="step"' if entry["current"] else "")
            + f' aria-label="{label}{", flagged" if entry["flagged"] else ""}">{position}</a></li>'
        )
    return mark_safe("<ol>" + "".join(items) + "</ol>")  # noqa: S308 - the URL escaped, the rest ours


def exam_result_context(exam: Exam) -> dict[str, Any]:
    """The score report of a finished exam: every question with its feedback, and the
    breakdown per topic."""
    items = []
    for item in exam.items.select_related("revision", "question").order_by("position"):
        data = item.revision.data
        items.append(
            {
                "item": item,
                "view": show_question(
                    data,
                    item.revision.rendered,
                    list(item.option_order),
                    answer=item.answer,
                    reveal=True,
                ),
                "blank": answer_is_blank(data, item.answer),
                "correct_answer": correct_answer(data),
            }
        )
    breakdown = [
        {
            "topic": topic_label(topic),
            "questions": int(row["questions"]),
            "correct": int(row["correct"]),
            "pct": percent(row["correct"] / row["questions"]) if row["questions"] else 0,
            "credit_pct": percent(row["credit"] / row["questions"]) if row["questions"] else 0,
        }
        for topic, row in exam.topic_breakdown.items()
    ]
    correct_total = sum(1 for entry in items if entry["item"].correct)
    return {
        "exam": exam,
        "items": items,
        "breakdown": breakdown,
        "correct_total": correct_total,
        "pass_scaled": PASS_SCALED,
        "raw_pct": percent(exam.raw_score),
    }


DRILL_ROUND_SIZE = 10


def drill_context(
    user: Any,
    *,
    queue: list[int] | None,
    last: KeywordAttempt | None,
    right: int,
    total: int,
) -> dict[str, Any]:
    """The keyword drill: the next pair of the round, the last answer's feedback, or the
    round's score; a new round when there is none."""
    finished = queue is not None and not queue and last is not None
    if queue is None or (not queue and not finished):
        queue = [item.pk for item in drill_round_for(user=user, size=DRILL_ROUND_SIZE)]
        right = total = 0
    items = KeywordDrill.objects.in_bulk(queue)
    queue = [pk for pk in queue if pk in items]
    item = items[queue[0]] if queue and not finished else None
    rest = ",".join(str(pk) for pk in queue[1:])
    form = None
    if item is not None:
        form = DrillAnswerForm(
            initial={"drill": item.pk, "remaining": rest, "right": right, "total": total}
        )
    return {
        "item": item,
        "form": form,
        "answers": KeywordDrill.Answer.choices,
        "last": last,
        "last_chosen_label": dict(KeywordDrill.Answer.choices).get(last.chosen) if last else "",
        "right": right,
        "total": total,
        "left_in_round": len(queue),
        "finished": finished,
        "confusions": confusions_for(user=user),
        "has_items": KeywordDrill.objects.exists(),
    }
