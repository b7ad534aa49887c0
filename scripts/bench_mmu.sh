#!/usr/bin/env bash
# softmmu benchmark: the TLB microbenchmark (ns per access on each path), then the
# page-table-heavy guest (tests/guest/c/ptbench.c: 16 address spaces, a CR3 switch every
# 128 accesses) on popek and QEMU TCG, with popek's hit rates from --stats.
#   usage: scripts/bench_mmu.sh [ROUNDS] [RUNS]     (defaults: 2000 rounds, best of 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2000}
runs=${2:-3}
bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null

build/tests/bench/popek_mmu_bench
echo

img=build/tests/guest/c/ptbench.elf
out=$(mktemp)
trap 'rm -f "$out" "$out.err" "$out.rss" "$out.time"' EXIT
source scripts/timing.sh
guest_ok() {  # the last run's guest checked every access
  grep -q "ptbench: ok" "$out" || { echo "bench_mmu: the guest failed: $(cat "$out" "$out.err")" >&2; exit 1; }
}
accesses=$((rounds * 16 * 64 * 2))
t_interp=$(best build/popek --stats -m 64 -debugcon stdio -serial none -append "rounds=$rounds" -kernel "$img")
guest_ok
stats=$(cat "$out.err")
t_jit=$(best build/popek --engine=jit -m 64 -debugcon stdio -serial none -append "rounds=$rounds" -kernel "$img")
guest_ok
t_qemu=""
if command -v qemu-system-i386 >/dev/null; then
  t_qemu=$(best qemu-system-i386 -M isapc -cpu pentium2 -m 64 -nographic -monitor none -serial none \
    -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -append "rounds=$rounds" -kernel "$img")
  guest_ok
fi
printf 'ptbench guest: %s rounds x 16 address spaces x 64 pages x (write + read) = %s accesses\n' \
  "$rounds" "$accesses"
printf '%-22s %10s %16s\n' engine seconds "ns per access"
row() { printf '%-22s %10.3f %16.1f\n' "$1" "$2" "$(echo "$2 * 1000000000 / $accesses" | bc -l)"; }
[ -n "$t_qemu" ] && row "qemu-system-i386 tcg" "$t_qemu"
row "popek interp" "$t_interp"
row "popek jit" "$t_jit"
echo "popek --stats for the interpreter run:"
echo "$stats" | grep -E "TLB|shadow|walks|CR3|evicted|inval|flush" | sed 's/^/  /'
