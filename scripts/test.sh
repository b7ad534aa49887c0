#!/usr/bin/env bash
# Set up, build and run the whole test suite: unit tests, the host-CPU differential
# test, and the guest programs on popek (both engines) and, as a witness, on QEMU. Then
# the fuzzing campaign of CI (tests/fuzz/, fixed seeds) on a sanitizer build of the
# fuzzer alone (AddressSanitizer + UndefinedBehaviorSanitizer) in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOPEK_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" --target popek_fuzz
ctest --test-dir build-asan -j"$(nproc)" -L fuzz --output-on-failure
