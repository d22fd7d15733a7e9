"""`manage.py audit_verify`: check the audit trail's seal chain; exit status 1 when anything is wrong."""

from django.core.management.base import BaseCommand, CommandError

from dermrelay.audit.chain import audit_seal, audit_verify
from dermrelay.audit.models import AuditChainHead


class Command(BaseCommand):
    help = "Verify the audit trail: every event sealed, no seal broken, changed, removed or cut from the end."

    def add_arguments(self, parser):
        parser.add_argument("--seal-first", action="store_true",
                            help="seal events still waiting for the sealer before verifying")

    def handle(self, *args, seal_first: bool = False, **options):
        if seal_first:
            audit_seal()
        findings = audit_verify()
        for finding in findings:
            self.stderr.write(f"{finding.kind}: {finding.message}")
        if findings:
            raise CommandError(f"the audit trail failed verification: {len(findings)} finding(s)")
        head = AuditChainHead.objects.filter(pk=1).first()
        self.stdout.write(f"audit trail verified: {head.seals if head else 0} sealed events, chain ends at "
                          f"{head.last_hash if head else '(empty)'}")
