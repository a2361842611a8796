#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh: the Debian packages), then builds and runs every test
# optimised: the parity tests run full-size networks and are slow in debug builds. Arguments (e.g.
# --filter X) go to swift test instead of running the whole suite. The web page's tests drive
# headless Chromium (Debian's chromium and chromium-driver, installed here). Fixtures are read from
# ../shared/fixtures (override with FACERESTORE_FIXTURES); with CI=true a missing fixture fails its
# test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --packages-only --test-tools
if [ $# -gt 0 ]; then
    exec swift test -c release "$@"
fi
# The whole suite, as two runs of one build: everything but the cluster's tests, then those alone.
# They start PostgreSQL, nginx and several facerestore processes that restore photos at once; on a
# 2-core machine beside the parity tests, the browser and schemathesis they would starve those (and
# be starved: their time bounds are for a database that is down, not for a CPU that is busy).
cluster='JobDatabaseTests|ClusterTests'
status=0
swift test -c release --skip "$cluster" || status=$?
swift test -c release --filter "$cluster" || status=$?
exit $status
