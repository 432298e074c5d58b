from django.core.management.base import BaseCommand, CommandError

from content.lessons import LessonSourceError
from content.services import lessons_sync


class Command(BaseCommand):
    help = "Load the Markdown lessons in content/lessons/ into the database (idempotent)."

    def handle(self, *args, **options):
        try:
            report = lessons_sync()
        except LessonSourceError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Lessons: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed."
        )
