#!/usr/bin/env bash
# Runs every test. Installs what the tests need on a fresh machine first:
# xmllint (Debian's libxml2-utils) validates written XML against the official XSDs.
# Works as root and as a user with sudo; without either it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs a command as root: directly when we are root, through sudo otherwise.
run_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: installing libxml2-utils (xmllint) needs root: run this script as root," >&2
        echo "       install sudo, or install libxml2-utils yourself" >&2
        exit 2
    fi
}

if ! command -v xmllint >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: xmllint is missing and there is no apt-get: install libxml2's xmllint" >&2
        exit 2
    fi
    echo "Installing libxml2-utils (xmllint)..."
    run_root apt-get update -qq
    # env, not a VAR=value prefix: the prefix would be taken for the command
    # after run_root, and sudo drops the caller's environment anyway.
    run_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils
    if ! command -v xmllint >/dev/null 2>&1; then
        echo "error: libxml2-utils is installed but xmllint is not on PATH ($PATH)" >&2
        exit 2
    fi
fi
if [ ! -d ../shared/reference ]; then
    echo "error: ../shared/reference (the official XSDs and samples) must sit beside the project" >&2
    exit 2
fi

cargo test --all-targets --locked
