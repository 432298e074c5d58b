import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("quizzes", "0003_card_bank_data")]

    operations = [
        migrations.AlterField(
            model_name="card",
            name="bank",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="quizzes.bank",
            ),
        ),
    ]
