#!/usr/bin/env bash
# Every test suite: the frontend's Vitest unit tests, then, from the same pytest tests (browser tests
# included: Playwright driving Debian's Chromium against a live server):
#   1. embedded: SQLite file database, kombu's file-system broker, a real worker process;
#   2. services: PostgreSQL and Redis, a real worker process on Redis.
# Outside CI the services suite is skipped, loudly, when PostgreSQL or Redis cannot be reached.
# With CI=true it always runs and DERMRELAY_REQUIRE_SERVICES=1 turns any test that cannot reach its
# service into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DERMRELAY_VAR_DIR="${DERMRELAY_VAR_DIR:-$PWD/var/test}"
export DERMRELAY_TEST_REPORT_DIR="${DERMRELAY_TEST_REPORT_DIR:-$PWD/var/test-reports}"
TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://root@127.0.0.1:5432/dermrelay}"
TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
rm -rf "$DERMRELAY_TEST_REPORT_DIR"

echo "== frontend: Vitest (the browser app's logic)"
(cd frontend && npm test --silent)
frontend=$?

echo "== suite 1/2: embedded (SQLite, file-system broker)"
env -u DATABASE_URL -u REDIS_URL "$PY" -m pytest "$@"
embedded=$?

services_reachable() {
  "$PY" - "$TEST_DATABASE_URL" "$TEST_REDIS_URL" <<'PYCHECK'
import sys
import dj_database_url, psycopg, redis
db = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"] or None, dbname="postgres", connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_connect_timeout=3).ping()
except Exception as exc:
    print(f"   unreachable: {exc}")
    sys.exit(1)
PYCHECK
}

services=0
if [ "${CI:-}" = "true" ] || services_reachable; then
  echo "== suite 2/2: services (PostgreSQL $TEST_DATABASE_URL, Redis $TEST_REDIS_URL)"
  DATABASE_URL="$TEST_DATABASE_URL" REDIS_URL="$TEST_REDIS_URL" \
    DERMRELAY_REQUIRE_SERVICES="$([ "${CI:-}" = "true" ] && echo 1 || echo 0)" "$PY" -m pytest "$@"
  services=$?
else
  echo "== suite 2/2: services SKIPPED: PostgreSQL or Redis is not reachable (in CI this is a failure)"
fi

[ $frontend -eq 0 ] && [ $embedded -eq 0 ] && [ $services -eq 0 ]
