from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0003_image_replacement_and_upload"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="clinical_question",
            field=models.CharField(
                blank=True,
                help_text="What the clinic asks the reader, e.g. 'melanoma? please assess the junction'; printed on the report.",
                max_length=500,
            ),
        ),
    ]
