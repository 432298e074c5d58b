"""Authoring screens (``/author/``): banks, the question editor, history, statistics,
import and export. Instructors only; a bank is visible to its owner and co-editors (404 for
other instructors, 403 for everyone else)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import is_instructor

from .diffing import revision_diff
from .formats import FORMATS
from .forms_author import (
    TYPE_LABELS,
    BankForm,
    EditorInviteForm,
    QuestionEditor,
    draft_data,
    editor_bound,
    editor_for_question,
    editor_new,
    editor_rebuilt,
)
from .grading import correct_answer
from .models import QUESTION_TYPES, Bank, Question, QuestionRevision
from .presenters import show_question
from .selectors_author import (
    author_banks,
    bank_editors,
    bank_export,
    bank_questions,
    bank_statistics,
    can_edit_bank,
    can_manage_editors,
    question_revisions,
    question_statistics,
)
from .services_author import (
    bank_create,
    bank_editor_add,
    bank_editor_remove,
    bank_set_published,
    bank_update,
    question_revert,
    question_save,
    question_set_archived,
    question_set_status,
)
from .services_bank import render_question

PENDING_IMPORTS = "author_pending_imports"
MAX_PENDING_IMPORTS = 3


View = TypeVar("View", bound=Callable[..., HttpResponse])


def instructor_required[View: Callable[..., HttpResponse]](view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-instructors get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_instructor(request.user):
            raise PermissionDenied("Only instructors author question banks.")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def editable_bank(request: AuthenticatedRequest, bank_id: int) -> Bank:
    bank = get_object_or_404(Bank.objects.select_related("owner"), pk=bank_id)
    if not can_edit_bank(user=request.user, bank=bank):
        raise Http404("No bank you can edit has this id.")
    return bank


def _editable_question(request: AuthenticatedRequest, question_id: int) -> Question:
    question = get_object_or_404(
        Question.objects.select_related("bank", "current_revision"), pk=question_id
    )
    if not can_edit_bank(user=request.user, bank=question.bank):
        raise Http404("No question you can edit has this id.")
    return question


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- banks ---------------------------------------------------------------------------


@instructor_required
@require_GET
def author_home(request: AuthenticatedRequest) -> HttpResponse:
    banks = author_banks(user=request.user).order_by("title")
    return render(request, "author/home.html", {"banks": banks, "form": BankForm()})


@instructor_required
@require_http_methods(["GET", "POST"])
def bank_create_view(request: AuthenticatedRequest) -> HttpResponse:
    form = BankForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        bank = bank_create(owner=request.user, **form.cleaned_data)
        messages.success(request, f"Bank “{bank.title}” created. Add questions or import a file.")
        return redirect("author_bank", bank.pk)
    return render(request, "author/bank_form.html", {"form": form, "bank": None})


@instructor_required
@require_http_methods(["GET", "POST"])
def bank_settings(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    bank = editable_bank(request, bank_id)
    form = BankForm(request.POST or None, instance=bank)
    if request.method == "POST" and form.is_valid():
        bank_update(bank=bank, **form.cleaned_data)
        messages.success(request, "Bank details saved.")
        return redirect("author_bank", bank.pk)
    return render(request, "author/bank_form.html", {"form": form, "bank": bank})


def _question_rows(questions: list[Question]) -> list[dict[str, Any]]:
    statistics = bank_statistics(questions=questions)
    return [{"question": q, "stats": statistics[q.pk]} for q in questions]


def _bank_page(
    request: AuthenticatedRequest, bank: Bank, *, invite_form: EditorInviteForm | None = None
) -> HttpResponse:
    questions = list(bank_questions(bank=bank))
    context = {
        "bank": bank,
        "rows": _question_rows(questions),
        "editors": bank_editors(bank=bank),
        "can_manage": can_manage_editors(user=request.user, bank=bank),
        "invite_form": invite_form or EditorInviteForm(bank=bank),
        "question_types": QUESTION_TYPES,
        "formats": FORMATS.values(),
    }
    return render(request, "author/bank_detail.html", context)


@instructor_required
@require_GET
def bank_detail(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    return _bank_page(request, editable_bank(request, bank_id))


@instructor_required
@require_POST
def bank_publish(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    bank = editable_bank(request, bank_id)
    published = request.POST.get("published") == "1"
    bank_set_published(bank=bank, published=published)
    if request.htmx:
        return _vary_on_htmx(render(request, "author/bank_detail.html#publish", {"bank": bank}))
    if published:
        messages.success(request, "Published: learners can now choose this bank.")
    else:
        messages.success(request, "Unpublished: learners no longer see this bank.")
    return _vary_on_htmx(redirect("author_bank", bank.pk))


@instructor_required
@require_POST
def bank_editor_invite(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    bank = editable_bank(request, bank_id)
    if not can_manage_editors(user=request.user, bank=bank):
        raise PermissionDenied("Only the bank's owner invites co-editors.")
    form = EditorInviteForm(request.POST, bank=bank)
    if not form.is_valid():
        return _bank_page(request, bank, invite_form=form)
    user = form.cleaned_data["username"]
    bank_editor_add(bank=bank, user=user)
    messages.success(request, f"{user.username} can now edit this bank.")
    return redirect("author_bank", bank.pk)


@instructor_required
@require_POST
def bank_editor_remove_view(
    request: AuthenticatedRequest, bank_id: int, user_id: int
) -> HttpResponse:
    bank = editable_bank(request, bank_id)
    if not can_manage_editors(user=request.user, bank=bank):
        raise PermissionDenied("Only the bank's owner removes co-editors.")
    user = get_object_or_404(get_user_model(), pk=user_id)
    bank_editor_remove(bank=bank, user=user)
    messages.success(request, f"{user.username} no longer edits this bank.")
    return redirect("author_bank", bank.pk)


@instructor_required
@require_GET
def bank_export_view(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    """``?format=`` downloads; without it, a page listing what each format would lose."""
    bank = editable_bank(request, bank_id)
    name = request.GET.get("format", "")
    if name in FORMATS:
        spec = FORMATS[name]
        result = bank_export(bank=bank, format_name=name)
        response = HttpResponse(result.text, content_type=f"{spec.content_type}; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{bank.slug}{spec.extension}"
        )
        return response
    exports = [
        {"spec": spec, "result": bank_export(bank=bank, format_name=spec.name)}
        for spec in FORMATS.values()
    ]
    return render(request, "author/bank_export.html", {"bank": bank, "exports": exports})


# --- the question editor -------------------------------------------------------------


def _preview(data: dict[str, Any]) -> dict[str, Any]:
    """The question through the learners' own view code, before and after answering.

    HTML comes from ``render_question``: the same sanitizer as saved revisions and lessons.
    """
    html = render_question(data)
    count = len(data.get("options") or data.get("pairs") or data.get("steps") or [])
    shown = list(range(count))
    try:
        right = correct_answer(data)
    except (StopIteration, KeyError, ValueError):
        right = None  # no correct option ticked yet
    return {
        "type_label": TYPE_LABELS.get(data.get("type", ""), ""),
        "view": show_question(data, html, shown),
        "reveal": show_question(data, html, shown, answer=right, reveal=True),
    }


def _editor_page(
    request: AuthenticatedRequest,
    *,
    bank: Bank,
    question: Question | None,
    editor: QuestionEditor,
    preview: dict[str, Any] | None,
    template: str = "author/question_form.html",
    focus_row: int | None = None,
) -> HttpResponse:
    if question is None:
        form_url = reverse("author_question_create", args=[bank.pk])
    else:
        form_url = reverse("author_question_edit", args=[question.pk])
    context: dict[str, Any] = {"bank": bank, "question": question, "editor": editor}
    context["preview"] = preview
    context.update(form=editor.form, rows=editor.rows, focus_row=focus_row, form_url=form_url)
    context.update(
        preview_url=reverse("author_question_preview", args=[bank.pk]),
        question_types=QUESTION_TYPES,
    )
    return _vary_on_htmx(render(request, template, context))


def _editor_post(
    request: AuthenticatedRequest, *, bank: Bank, question: Question | None
) -> HttpResponse:
    action = request.POST.get("action", "save")
    remove = request.POST.get("remove_row", "")
    if action in ("add_row", "change_type", "preview") or remove.isdigit():
        return _editor_rebuilt(request, bank, question, action, remove)
    editor = editor_bound(bank=bank, question=question, data=request.POST)
    if not editor.is_valid():
        preview = _preview(draft_data(request.POST))
        return _editor_page(request, bank=bank, question=question, editor=editor, preview=preview)
    saved, changed = question_save(
        bank=bank,
        question=question,
        data=editor.question_data(),
        author=request.user,
        note=editor.form.cleaned_data.get("note", ""),
    )
    _saved_message(request, saved, created=question is None, changed=changed)
    return redirect(f"{reverse('author_bank', args=[bank.pk])}#question-{saved.pk}")


def _saved_message(
    request: AuthenticatedRequest, saved: Question, *, created: bool, changed: bool
) -> None:
    if created:
        messages.success(request, f"Question “{saved.key}” created.")
    elif changed:
        number = saved.current_revision.number if saved.current_revision else 0
        messages.success(request, f"Saved “{saved.key}” as revision {number}.")
    else:
        messages.info(request, f"No content change in “{saved.key}”: no new revision.")


def _editor_rebuilt(
    request: AuthenticatedRequest, bank: Bank, question: Question | None, action: str, remove: str
) -> HttpResponse:
    """The editor again after adding or removing an option row, changing the type, or
    asking for a preview: only the rows region for htmx, the whole page otherwise."""
    remove_row = int(remove) if remove.isdigit() else None
    editor = editor_rebuilt(
        bank=bank,
        question=question,
        data=request.POST,
        add_row=action == "add_row",
        remove_row=remove_row,
    )
    page = functools.partial(
        _editor_page, request, bank=bank, question=question, editor=editor,
        focus_row=_focus_row(editor, action, remove_row),
    )  # fmt: skip
    if request.htmx and action != "preview":
        return page(preview=None, template="author/question_form.html#rows")
    return page(preview=_preview(draft_data(request.POST)))


def _focus_row(editor: QuestionEditor, action: str, remove_row: int | None) -> int | None:
    """The 1-based row author.js focuses after the swap."""
    count = editor.rows.total_form_count() if editor.rows is not None else 0
    if not count:
        return None
    if action == "add_row":
        return count
    return min(remove_row + 1, count) if remove_row is not None else None


@instructor_required
@require_http_methods(["GET", "POST"])
def question_create_view(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    bank = editable_bank(request, bank_id)
    if request.method == "POST":
        return _editor_post(request, bank=bank, question=None)
    editor = editor_new(bank=bank, question_type=request.GET.get("type", "single"))
    return _editor_page(request, bank=bank, question=None, editor=editor, preview=None)


@instructor_required
@require_http_methods(["GET", "POST"])
def question_edit(request: AuthenticatedRequest, question_id: int) -> HttpResponse:
    question = _editable_question(request, question_id)
    if request.method == "POST":
        return _editor_post(request, bank=question.bank, question=question)
    editor = editor_for_question(bank=question.bank, question=question)
    data = question.current_revision.data if question.current_revision else {}
    return _editor_page(
        request, bank=question.bank, question=question, editor=editor, preview=_preview(data)
    )


@instructor_required
@require_POST
def question_preview(request: AuthenticatedRequest, bank_id: int) -> HttpResponse:
    """The live preview: the editor posts what is typed so far (htmx, on keyup)."""
    bank = editable_bank(request, bank_id)
    template = "author/question_form.html#preview" if request.htmx else "author/preview.html"
    context = {"bank": bank, "preview": _preview(draft_data(request.POST))}
    return _vary_on_htmx(render(request, template, context))


@instructor_required
@require_POST
def question_state(request: AuthenticatedRequest, question_id: int) -> HttpResponse:
    """Publish, move back to draft, archive or restore (no new revision)."""
    question = _editable_question(request, question_id)
    action = request.POST.get("action")
    if action == "publish":
        question_set_status(question=question, status=Question.Status.PUBLISHED)
    elif action == "draft":
        question_set_status(question=question, status=Question.Status.DRAFT)
    elif action in ("archive", "restore"):
        question_set_archived(question=question, archived=action == "archive")
    else:  # only a hand-made request sends another action
        return render(request, "400.html", status=400)
    if request.htmx:
        context = {"row": _question_rows([question])[0], "bank": question.bank}
        return _vary_on_htmx(render(request, "author/bank_detail.html#question_row", context))
    messages.success(request, f"“{question.key}” is now {_state_label(question)}.")
    return _vary_on_htmx(
        redirect(f"{reverse('author_bank', args=[question.bank_id])}#question-{question.pk}")
    )


def _state_label(question: Question) -> str:
    if question.is_archived:
        return "archived"
    return question.get_status_display().lower()


# --- history, revert, statistics -------------------------------------------------------


def _compared(
    revisions: list[QuestionRevision], old_number: str, new_number: str
) -> tuple[QuestionRevision | None, QuestionRevision | None]:
    """The two revisions to compare: as asked for, else the newest and the one before it."""
    by_number = {r.number: r for r in revisions}

    def pick(value: str, default: QuestionRevision | None) -> QuestionRevision | None:
        return by_number.get(int(value), default) if value.isdigit() else default

    new = pick(new_number, revisions[0] if revisions else None)
    older = [r for r in revisions if new is not None and r.number < new.number]
    return pick(old_number, older[0] if older else new), new


@instructor_required
@require_GET
def question_history(request: AuthenticatedRequest, question_id: int) -> HttpResponse:
    question = _editable_question(request, question_id)
    revisions = list(question_revisions(question=question))
    old, new = _compared(revisions, request.GET.get("from", ""), request.GET.get("to", ""))
    diff = revision_diff(old.data, new.data) if old and new else []
    context = {
        "bank": question.bank,
        "question": question,
        "revisions": revisions,
        "old": old,
        "new": new,
        "diff": diff,
    }
    template = (
        "author/question_history.html#diff" if request.htmx else "author/question_history.html"
    )
    return _vary_on_htmx(render(request, template, context))


@instructor_required
@require_POST
def question_revert_view(
    request: AuthenticatedRequest, question_id: int, number: int
) -> HttpResponse:
    question = _editable_question(request, question_id)
    revision = get_object_or_404(question.revisions, number=number)
    new = question_revert(question=question, revision=revision, author=request.user)
    if new is None:
        messages.info(request, f"Revision {number} is already the current content.")
    else:
        messages.success(request, f"Reverted to revision {number}: saved as revision {new.number}.")
    return redirect("author_question_history", question.pk)


@instructor_required
@require_GET
def question_stats(request: AuthenticatedRequest, question_id: int) -> HttpResponse:
    question = _editable_question(request, question_id)
    context = {
        "bank": question.bank,
        "question": question,
        "statistics": question_statistics(question=question),
    }
    return render(request, "author/question_stats.html", context)
