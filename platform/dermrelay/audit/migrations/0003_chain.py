"""The seal chain over the audit trail, and the database refusing changes to events and seals on
SQLite too (PostgreSQL has refused changes to events since 0002)."""

from django.db import migrations, models

from dermrelay.audit.row_guard import refuse_row_changes


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only_trigger'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('seals', models.BigIntegerField(default=0)),
                ('last_hash', models.CharField(blank=True, max_length=64)),
                ('sealed_through', models.DateTimeField(blank=True, help_text='occurred_at of the newest sealed event', null=True)),
            ],
        ),
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('event_id', models.BigIntegerField(unique=True)),
                ('previous_hash', models.CharField(blank=True, max_length=64)),
                ('hash', models.CharField(max_length=64)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        refuse_row_changes(table="audit_auditevent", trigger="audit_event_append_only", state="append-only",
                           vendors=("sqlite",)),
        refuse_row_changes(table="audit_auditseal", trigger="audit_seal_append_only", state="append-only"),
    ]
