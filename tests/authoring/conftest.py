from __future__ import annotations

import pytest

from quizzes.models import BankEditor

from .factories import BankFactory, make_question


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every test creates several users; the default PBKDF2 work factor costs ~1 s each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def co_editor(make_user):
    return make_user("coeditor", instructor=True)


@pytest.fixture
def other_instructor(make_user):
    return make_user("stranger", instructor=True)


@pytest.fixture
def bank(instructor, co_editor):
    bank = BankFactory(owner=instructor, title="KMS basics", slug="kms-basics")
    BankEditor.objects.create(bank=bank, user=co_editor)
    return bank


@pytest.fixture
def question(bank):
    return make_question(bank, "single", key="pkcs11")


@pytest.fixture
def author_client(client, instructor):
    client.force_login(instructor)
    return client
