"""Hostile and odd input from the API's own schema: schemathesis generates requests for every
documented operation (path and query parameters, headers, bodies: within the schema, and past it in
the negative mode) and sends them to the live server with two tenants' device tokens, a technician
of one site and a reader of the other; no answer may be a 5xx. Bounded and derandomized, so a run is
repeatable and takes a minute or two. It runs in the services suite (PostgreSQL, the production
database): nothing in it differs on SQLite that the embedded suite does not already cover."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from dermrelay.accounts.device_tokens import device_token_issue
from dermrelay.accounts.models import Role
from tests.factories import make_case, make_site, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# tus chunks are raw bytes under their own media type
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

EXAMPLES = 5  # per operation and mode
SKIPPED = {
    ("GET", "/api/v1/cases/{id}/quality/stream/"),  # a long-lived event stream, tested on its own
    ("POST", "/api/v1/auth/logout/"),  # would revoke the token the next requests use
}


def _operations(live_server):
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.config.update(base_url=live_server.url)
    for result in loaded.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            yield operation


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_the_schema_allows_or_almost_allows_gets_a_server_error(live_server, mode):
    keys = []
    for number, role in enumerate((Role.TECHNICIAN, Role.READER)):
        site = make_site()
        person = make_user(role=role, site=site)
        make_case(site=site, actor=make_user(role=Role.TECHNICIAN, site=site))
        keys.append(device_token_issue(user=person, name=f"fuzz {number}")[1])
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = list(_operations(live_server))
    assert len(operations) > 60

    for operation in operations:
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def send(case):
            cache.clear()  # the sign-in rate limit: fuzzing sign-in must not end in 429s only
            for key in keys:
                response = case.call(headers={"Authorization": f"Token {key}"}, timeout=60)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error])

        try:
            send()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # an operation without parameters has no invalid form
        except Exception as failure:  # collect every operation's first failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(failure)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert statuses[401] < sum(statuses.values()) / 4, statuses  # the requests got past sign-in
    if mode == GenerationMode.POSITIVE:
        assert sum(n for status, n in statuses.items() if status < 300) > 50, statuses  # and did things
