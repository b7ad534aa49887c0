#!/usr/bin/env bash
# Linux benchmark: the boot + workload of tests/linux/boot_test.sh (Debian 12 i386 kernel,
# busybox initramfs, IDE disk) on popek and on QEMU TCG (-M isapc -cpu pentium2,-apic).
# Prints both wall times and their ratio; each run's checks must pass for its time to count.
#   usage: scripts/bench-linux.sh [POPEK_BINARY]     (default: build/popek, built first)
# POPEK_ENGINE=jit benchmarks the JIT (default interp); POPEK_LINUX_TIMEOUT bounds a run.
set -uo pipefail
cd "$(dirname "$0")/.."
popek="${1:-}"
if [ -z "$popek" ]; then
  bash scripts/setup.sh >/dev/null || exit 1
  bash scripts/build.sh >/dev/null || exit 1
  popek="$PWD/build/popek"
fi
command -v qemu-system-i386 >/dev/null || { echo "bench-linux: qemu-system-i386 is not installed"; exit 1; }
bash scripts/fetch-linux.sh || exit 1

# A wrapper so that the engine option reaches popek through the test script.
wrap="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$wrap" "$log"' EXIT
printf '#!/bin/sh\nexec "%s" --engine=%s "$@"\n' "$popek" "${POPEK_ENGINE:-interp}" >"$wrap"
chmod +x "$wrap"

run() {  # run NAME ARGS...: wall seconds on stdout, or nothing when the checks failed
  local name="$1"; shift
  local s e
  s=$(date +%s.%N)
  if bash tests/linux/boot_test.sh "$@" >"$log" 2>&1; then
    e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  else
    echo "bench-linux: the $name run failed:" >&2
    tail -n 25 "$log" >&2
  fi
}

t_qemu=$(run qemu --qemu)
t_popek=$(run popek "$wrap")
printf 'Linux boot + workload (wall seconds, including the checks):\n'
printf '  qemu-system-i386 TCG   %s\n' "${t_qemu:-failed}"
printf '  popek (%s)        %s\n' "${POPEK_ENGINE:-interp}" "${t_popek:-failed}"
if [ -n "$t_qemu" ] && [ -n "$t_popek" ]; then
  printf '  ratio popek / qemu     %.2f\n' "$(echo "$t_popek / $t_qemu" | bc -l)"
else
  exit 1
fi
