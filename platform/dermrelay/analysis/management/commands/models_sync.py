from django.core.management.base import BaseCommand

from dermrelay.analysis.catalogue import model_versions_sync


class Command(BaseCommand):
    help = "Mirror the inference registry's model cards into ModelVersion rows, verifying every weights file."

    def handle(self, *args, **options):
        report = model_versions_sync()
        self.stdout.write(f"model versions: {report.created} new, {report.updated} checked again")
        for error in report.errors:
            self.stderr.write(self.style.ERROR(error))
