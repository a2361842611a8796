#!/usr/bin/env bash
# Installs the Debian packages facerestore builds against, then builds it optimised.
# Usage: scripts/setup.sh            (needs root or sudo for apt-get when packages are missing)
#        scripts/setup.sh --packages-only   (no build: scripts/test.sh builds through `swift test`,
#                                            whose testable build would redo a plain one anyway)
#        scripts/setup.sh --packages-only --test-tools   (also what only the tests use: headless
#                                            Chromium and its WebDriver, for the web page's tests;
#                                            openapi-spec-validator and schemathesis (PyPI, in a
#                                            virtualenv), for the OpenAPI tests; promtool (Debian's
#                                            prometheus), for the metrics tests; PostgreSQL and
#                                            nginx, for the cluster tests, which start their own
#                                            servers on loopback; no system service is used)
set -euo pipefail
cd "$(dirname "$0")/.."

packages_only=false
test_tools=false
for argument in "$@"; do
    case "$argument" in
        --packages-only) packages_only=true ;;
        --test-tools) test_tools=true ;;
        *) echo "unknown option: $argument" >&2; exit 2 ;;
    esac
done

packages=(libdnnl-dev libopenblas-dev libturbojpeg0-dev libspng-dev libwebp-dev libcurl4 pkg-config)
if $test_tools; then
    packages+=(chromium chromium-driver python3 python3-venv prometheus postgresql nginx-light)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAPI tests' Python tools, pinned, in a virtualenv of their own (Tests/ServiceTests/Support/
# TestTools.swift looks there); reinstalled only when the pins change.
python_tools=(openapi-spec-validator==0.9.0 schemathesis==4.32.5)
tools_venv=.build/test-tools
if $test_tools && [ "$(cat "$tools_venv/installed" 2>/dev/null)" != "${python_tools[*]}" ]; then
    echo "Installing into $tools_venv: ${python_tools[*]}"
    rm -rf "$tools_venv"
    python3 -m venv "$tools_venv"
    "$tools_venv/bin/pip" install --quiet --disable-pip-version-check "${python_tools[@]}"
    echo "${python_tools[*]}" > "$tools_venv/installed"
fi

$packages_only && exit 0
swift build -c release --product facerestore
