from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0017_report_indexes")]

    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="automation_depth",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
    ]
