#!/usr/bin/env bash
# Runs every test. Installs what the tests need on a fresh machine first:
# xmllint (Debian's libxml2-utils) validates written XML against the official XSDs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v xmllint >/dev/null 2>&1; then
    echo "Installing libxml2-utils (xmllint)..."
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils
fi
if [ ! -d ../shared/reference ]; then
    echo "error: ../shared/reference (the official XSDs and samples) must sit beside the project" >&2
    exit 2
fi

cargo test --all-targets --locked
