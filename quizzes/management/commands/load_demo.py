from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import INSTRUCTOR_GROUP
from quizzes.roles import ensure_instructor_group
from quizzes.services_bank import keyword_drills_load, starter_bank_load

DEMO_ACCOUNTS = [
    # username, password, instructor?
    ("demo-learner", "learn-kms-2026", False),
    ("demo-instructor", "teach-hsm-2026", True),
]


class Command(BaseCommand):
    help = "Load the lessons, the starter question bank and the demo accounts (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("sync_lessons", stdout=self.stdout)
        bank, created, updated = starter_bank_load()
        self.stdout.write(
            f"Starter bank '{bank.title}': {created} questions created, {updated} updated."
        )
        self.stdout.write(f"Keyword drills: {keyword_drills_load()} loaded.")
        ensure_instructor_group()
        instructors = Group.objects.get(name=INSTRUCTOR_GROUP)
        self.stdout.write("Demo accounts (log in at /accounts/login/):")
        for username, password, instructor in DEMO_ACCOUNTS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            if instructor:
                user.groups.add(instructors)
            role = "instructor" if instructor else "learner"
            self.stdout.write(f"  {role:<10}  username: {username:<16} password: {password}")
