"""Device tokens of their own (hashed, expiring, revocable) replace DRF's one plain-text token per
user. The old keys are deleted, not converted: they were stored in plain text, and a device signs
in again once (POST /auth/token/) to get a token of its own."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


def _delete_plain_text_keys(apps, schema_editor):
    tables = schema_editor.connection.introspection.table_names()
    if "authtoken_token" in tables:
        schema_editor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeviceToken',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(help_text='What the device is, as its owner named it.', max_length=100)),
                ('prefix', models.CharField(help_text="The key's first characters, shown to its owner.", max_length=12, unique=True)),
                ('digest', models.CharField(help_text='SHA-256 of the whole key; the key itself is never stored.', max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='device_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(_delete_plain_text_keys, migrations.RunPython.noop),
    ]
