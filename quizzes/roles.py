"""The instructor role: a group holding the permissions to author question banks."""

from __future__ import annotations

from typing import Any

from accounts.models import INSTRUCTOR_GROUP

INSTRUCTOR_PERMISSIONS = [
    ("quizzes", "add_bank"),
    ("quizzes", "change_bank"),
    ("quizzes", "delete_bank"),
    ("quizzes", "view_bank"),
    ("quizzes", "add_question"),
    ("quizzes", "change_question"),
    ("quizzes", "delete_question"),
    ("quizzes", "view_question"),
    ("quizzes", "view_questionrevision"),
]


def ensure_instructor_group(**kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=INSTRUCTOR_GROUP)
    for app_label, codename in INSTRUCTOR_PERMISSIONS:
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission:
            group.permissions.add(permission)
