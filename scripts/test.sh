#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh: the Debian packages), then builds and runs every test
# optimised: the parity tests run full-size networks and are slow in debug builds. The web page's
# tests drive headless Chromium (Debian's chromium and chromium-driver, installed here). Fixtures are
# read from ../shared/fixtures (override with FACERESTORE_FIXTURES); with CI=true a missing
# fixture fails its test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --packages-only --test-tools
swift test -c release "$@"
