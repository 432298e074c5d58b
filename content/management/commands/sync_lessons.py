from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from content.lessons import LESSONS_DIR, LessonSourceError
from content.services import lessons_sync


class Command(BaseCommand):
    help = "Load the Markdown lessons in content/lessons/ into the database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--directory", type=Path, default=LESSONS_DIR)

    def handle(self, *args, directory, **options):
        try:
            report = lessons_sync(directory=directory)
        except LessonSourceError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Lessons: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed."
        )
