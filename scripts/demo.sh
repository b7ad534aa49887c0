#!/usr/bin/env bash
# Set up, build, and boot the demo guest: a 32-bit kernel built from tests/guest/c that
# greets on the serial port. Extra arguments go to popek (e.g. --pg-report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec build/popek -m 64 -serial stdio -kernel build/tests/guest/c/demo.elf "$@"
