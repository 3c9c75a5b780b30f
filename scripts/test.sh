#!/usr/bin/env bash
# Runs every test. Installs what the tests need on a fresh machine first,
# from Debian's packages:
#   libxml2-utils     xmllint, which validates written XML against the official XSDs;
#   python3-aiosmtpd  a real SMTP server for the email push tests, which run it
#                     (and parse what it received) with Debian's /usr/bin/python3,
#                     not whatever python3 is first on PATH (a pyenv build, say,
#                     does not see Debian's packages);
#   chromium          a real headless browser the admin dashboard is tested in;
#   openssl           reads and checks the certificates `signature keygen` makes.
# Works as root and as a user with sudo; without either it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian packages the tests need that are missing.
missing=()
if ! command -v xmllint >/dev/null 2>&1; then
    missing+=(libxml2-utils)
fi
if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    missing+=(python3-aiosmtpd)
fi
if ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
if ! command -v openssl >/dev/null 2>&1; then
    missing+=(openssl)
fi

# Runs a command as root: directly when we are root, through sudo otherwise.
run_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: installing ${missing[*]} needs root: run this script as root," >&2
        echo "       install sudo, or install ${missing[*]} yourself" >&2
        exit 2
    fi
}

if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: the tests need ${missing[*]} (Debian package names) and there is no apt-get:" >&2
        echo "       install libxml2's xmllint, Python 3's aiosmtpd for /usr/bin/python3, chromium and openssl" >&2
        exit 2
    fi
    echo "Installing ${missing[*]}..."
    run_root apt-get update -qq
    # env, not a VAR=value prefix: the prefix would be taken for the command
    # after run_root, and sudo drops the caller's environment anyway.
    run_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    if ! command -v xmllint >/dev/null 2>&1; then
        echo "error: libxml2-utils is installed but xmllint is not on PATH ($PATH)" >&2
        exit 2
    fi
    if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
        echo "error: python3-aiosmtpd is installed but /usr/bin/python3 cannot import aiosmtpd" >&2
        exit 2
    fi
    if ! command -v chromium >/dev/null 2>&1; then
        echo "error: chromium is installed but not on PATH ($PATH)" >&2
        exit 2
    fi
    if ! command -v openssl >/dev/null 2>&1; then
        echo "error: openssl is installed but not on PATH ($PATH)" >&2
        exit 2
    fi
fi
if [ ! -d ../shared/reference ]; then
    echo "error: ../shared/reference (the official XSDs and samples) must sit beside the project" >&2
    exit 2
fi

cargo test --all-targets --locked
