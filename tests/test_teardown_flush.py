"""The test suite's own guard: a teardown flush that PostgreSQL aborted as a deadlock victim is tried
again, and nothing else is swallowed."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError

from tests.conftest import retrying_deadlocked_flush


def _flush_failing(times: int, cause: Exception):
    calls = []

    def flush():
        calls.append(1)
        if len(calls) <= times:
            raise CommandError("Database test_dermrelay couldn't be flushed.") from cause
        return "flushed"

    return flush, calls


def test_a_deadlocked_flush_is_tried_again():
    flush, calls = _flush_failing(2, OperationalError("deadlock detected\\nDETAIL: Process 1 waits for ..."))
    assert retrying_deadlocked_flush(flush)() == "flushed" and len(calls) == 3


def test_other_flush_errors_and_endless_deadlocks_are_raised():
    flush, calls = _flush_failing(1, OperationalError("relation does not exist"))
    with pytest.raises(CommandError):
        retrying_deadlocked_flush(flush)()
    assert len(calls) == 1
    flush, calls = _flush_failing(10, OperationalError("deadlock detected"))
    with pytest.raises(CommandError):
        retrying_deadlocked_flush(flush, attempts=3)()
    assert len(calls) == 3


def test_the_suite_installs_the_guard():
    from django.test import TransactionTestCase

    assert TransactionTestCase._fixture_teardown.__qualname__.startswith("retrying_deadlocked_flush")
