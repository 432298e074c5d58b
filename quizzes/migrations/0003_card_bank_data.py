"""Existing cards take their question's bank (new cards come from the learner's next sync);
existing review logs note whether they introduced a NEW card.

A migration of its own: on PostgreSQL the table cannot be altered (0004) in the transaction
that updated its rows while deferred foreign-key checks are pending.
"""

from django.db import migrations, models


def copy_question_banks(apps, schema_editor):
    """Existing cards take their question's bank (new cards are created by the sync)."""
    Card = apps.get_model("quizzes", "Card")
    Question = apps.get_model("quizzes", "Question")
    bank = Question.objects.filter(pk=models.OuterRef("question_id")).values("bank_id")[:1]
    Card.objects.filter(bank__isnull=True).update(bank_id=models.Subquery(bank))


def mark_new_card_logs(apps, schema_editor):
    ReviewLog = apps.get_model("quizzes", "ReviewLog")
    ReviewLog.objects.filter(state_before__state=0).update(new_card=True)


class Migration(migrations.Migration):
    dependencies = [("quizzes", "0002_card_queues")]

    operations = [
        migrations.RunPython(copy_question_banks, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(mark_new_card_logs, migrations.RunPython.noop, elidable=True),
    ]
