#!/usr/bin/env bash
# Set up, build and run the whole test suite: unit tests, the host-CPU differential
# test, and the guest programs on popek (both engines) and, as a witness, on QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
