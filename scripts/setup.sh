#!/usr/bin/env bash
# Installs the Debian packages facerestore builds against, then builds it optimised.
# Usage: scripts/setup.sh            (needs root or sudo for apt-get when packages are missing)
#        scripts/setup.sh --packages-only   (no build: scripts/test.sh builds through `swift test`,
#                                            whose testable build would redo a plain one anyway)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libdnnl-dev libopenblas-dev libturbojpeg0-dev libspng-dev libwebp-dev libcurl4 pkg-config)
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

[ "${1:-}" = "--packages-only" ] && exit 0
swift build -c release --product facerestore
