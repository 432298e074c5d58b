"""Who may use each authoring URL: owner, co-editor, other instructor, learner, anonymous.

Instructors only (learners get 403, anonymous visitors the login page); a bank and its
questions exist only for the owner and co-editors (404 for other instructors); only the
owner manages co-editors (403 for a co-editor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from .factories import editor_data

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "co_editor", "other_instructor", "learner", "anonymous"]
GIFT = b"::q1:: KMS or CloudHSM for PKCS #11? {=AWS CloudHSM ~AWS KMS}\n"


@dataclass
class Case:
    name: str
    method: str
    ok: int
    data: dict[str, Any] | None = None
    scoped: bool = True  # needs the bank: other instructors get 404
    query: str = ""
    special: dict[str, int] = field(default_factory=dict)


def url_for(case_name: str, fixtures: dict[str, Any]) -> str:
    bank, question, co_editor = fixtures["bank"], fixtures["question"], fixtures["co_editor"]
    args = {
        "author_home": [],
        "author_bank_create": [],
        "author_import": [],
        "author_bank": [bank.pk],
        "author_bank_settings": [bank.pk],
        "author_bank_publish": [bank.pk],
        "author_bank_editors": [bank.pk],
        "author_bank_editor_remove": [bank.pk, co_editor.pk],
        "author_bank_export": [bank.pk],
        "author_question_create": [bank.pk],
        "author_question_preview": [bank.pk],
        "author_question_edit": [question.pk],
        "author_question_state": [question.pk],
        "author_question_history": [question.pk],
        "author_question_revert": [question.pk, 1],
        "author_question_stats": [question.pk],
    }[case_name]
    return reverse(case_name, args=args)


CASES = [
    Case("author_home", "get", 200, scoped=False),
    Case("author_bank_create", "get", 200, scoped=False),
    Case("author_bank_create", "post", 302, {"title": "New bank"}, scoped=False),
    Case("author_bank", "get", 200),
    Case("author_bank_settings", "get", 200),
    Case("author_bank_settings", "post", 302, {"title": "Renamed", "description": ""}),
    Case("author_bank_publish", "post", 302, {"published": "1"}),
    Case("author_bank_editors", "post", 302, {"username": "helper"}, special={"co_editor": 403}),
    Case("author_bank_editor_remove", "post", 302, {}, special={"co_editor": 403}),
    Case("author_bank_export", "get", 200),
    Case("author_bank_export", "get", 200, query="?format=gift"),
    Case("author_question_create", "get", 200, query="?type=match"),
    Case("author_question_create", "post", 302, editor_data("single", key="new-one")),
    Case("author_question_preview", "post", 200, editor_data("single")),
    Case("author_question_edit", "get", 200),
    Case("author_question_edit", "post", 302, editor_data("single", prompt="Changed?")),
    Case("author_question_state", "post", 302, {"action": "draft"}),
    Case("author_question_history", "get", 200),
    Case("author_question_revert", "post", 302, {}),
    Case("author_question_stats", "get", 200),
    Case("author_import", "get", 200, scoped=False),
]


@pytest.fixture
def personas(instructor, co_editor, other_instructor, learner, make_user):
    make_user("helper", instructor=True)
    return {
        "owner": instructor,
        "co_editor": co_editor,
        "other_instructor": other_instructor,
        "learner": learner,
        "anonymous": None,
    }


def _client(personas: dict[str, Any], persona: str) -> Client:
    client = Client()
    if personas[persona] is not None:
        client.force_login(personas[persona])
    return client


def _expected(case: Case, persona: str) -> int:
    if persona == "anonymous":
        return 302
    if persona == "learner":
        return 403
    if persona == "other_instructor" and case.scoped:
        return 404
    return case.special.get(persona, case.ok)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method}-{c.name}{c.query}")
def test_permission_matrix(case, persona, personas, bank, question, co_editor):
    client = _client(personas, persona)
    url = url_for(case.name, {"bank": bank, "question": question, "co_editor": co_editor})
    if case.method == "get":
        response = client.get(url + case.query)
    else:
        response = client.post(url + case.query, case.data or {})
    assert response.status_code == _expected(case, persona)
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_import_upload_only_targets_banks_the_user_edits(persona, personas, bank):
    client = _client(personas, persona)
    upload = SimpleUploadedFile("quiz.gift", GIFT)
    response = client.post(reverse("author_import"), {"file": upload, "bank": bank.pk})
    expected = {"owner": 302, "co_editor": 302, "other_instructor": 200}
    assert response.status_code == expected.get(persona, _expected(Case("", "", 0), persona))
    if persona == "other_instructor":
        assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_pending_import_belongs_to_the_session_that_uploaded_it(persona, personas, bank):
    owner = _client(personas, "owner")
    upload = SimpleUploadedFile("quiz.gift", GIFT)
    response = owner.post(reverse("author_import"), {"file": upload, "bank": bank.pk})
    preview_url = response["Location"]
    client = owner if persona == "owner" else _client(personas, persona)
    response = client.get(preview_url)
    expected = {"owner": 200, "co_editor": 404, "other_instructor": 404}
    assert response.status_code == expected.get(persona, _expected(Case("", "", 0), persona))


def test_losing_access_to_the_bank_hides_a_pending_import(personas, bank, co_editor):
    client = _client(personas, "co_editor")
    upload = SimpleUploadedFile("quiz.gift", GIFT)
    preview_url = client.post(reverse("author_import"), {"file": upload, "bank": bank.pk})[
        "Location"
    ]
    bank.editors.remove(co_editor)
    assert client.get(preview_url).status_code == 404
