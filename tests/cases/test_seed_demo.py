import pytest
from django.core.management import call_command

from dermrelay.accounts.models import Membership, Role, User
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind, Patient
from dermrelay.reading.models import Assignment

pytestmark = pytest.mark.django_db


def _counts():
    return [m.objects.count() for m in (User, Membership, Patient, Case, Image, Assignment)]


def test_seed_demo_creates_every_role_and_kind_and_is_idempotent(django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    first = _counts()
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert set(Image.objects.values_list("kind", flat=True)) == set(ImageKind.values)
    assert Membership.objects.values("site").distinct().count() == 3  # northside, lakeside and riverside (QA history)
    assert User.objects.get(username="reader").check_password("dermrelay-demo")
    assert "tech.north" in capsys.readouterr().out
    submitted = Case.objects.exclude(status__in=[CaseStatus.DRAFT]).exclude(device="QA history (synthetic)")
    assert submitted.count() == 2 and {a.case_id for a in Assignment.objects.filter(reader__username="reader")} == {
        c.id for c in submitted}  # the reader has a worklist after `make run`
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    assert _counts() == first
