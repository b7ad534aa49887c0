#!/usr/bin/env bash
# The fuzz harness catches what it is there to catch. The selftest fuzzer plants, among
# harmless inputs, a crash (a heap overflow: a sanitizer report, or an abort), a hang and
# an oracle finding. The campaign must report each, keep each as a reproducer, go on past
# them to the last case, and exit 1; --replay must fail on every reproducer (the hang is
# still hanging after 2 s) and pass on a harmless input. The instruction fuzzer's engine
# comparison must report a difference planted in the JIT's machine.
#   usage: harness_test.sh POPEK_FUZZ WORKDIR
set -uo pipefail
fuzz="$1" dir="$2"
rm -rf "$dir" && mkdir -p "$dir"
out=$("$fuzz" --quiet --fuzzers=selftest --seed=7 --runs=40 --timeout=1 --findings="$dir/findings" 2>"$dir/stderr")
status=$?
fail() {
  echo "FAIL: $*"
  echo "$out"
  tail -n 40 "$dir/stderr"
  exit 1
}
[ "$status" = 1 ] || fail "popek_fuzz exited with $status, expected 1"
read -r c h f < <(sed -n 's/^popek_fuzz totals:.* crashes=\([0-9]*\) hangs=\([0-9]*\) findings=\([0-9]*\).*/\1 \2 \3/p' <<<"$out")
[ "${c:-0}" -ge 1 ] && [ "${h:-0}" -ge 1 ] && [ "${f:-0}" -ge 1 ] ||
  fail "expected a crash, a hang and a finding at least, got crashes=${c:-?} hangs=${h:-?} findings=${f:-?}"
grep -q "inputs=40 " <<<"$out" || fail "not all 40 cases ran"
n=$(find "$dir/findings" -name '*.case' | wc -l)
[ "$n" = $((c + h + f)) ] || fail "$n reproducers for $((c + h + f)) events"
for r in "$dir"/findings/crash-*.case "$dir"/findings/finding-*.case; do
  "$fuzz" --replay "$r" >/dev/null 2>&1 && fail "replaying $r passed"
done
r=$(ls "$dir"/findings/hang-*.case | head -n 1)
timeout 2 "$fuzz" --replay "$r" >/dev/null 2>&1
[ $? = 124 ] || fail "replaying $r did not hang"
printf 'popek-fuzz-case 1 selftest harmless\n\001' >"$dir/harmless.case"
"$fuzz" --replay "$dir/harmless.case" >/dev/null 2>&1 || fail "replaying a harmless input failed"
# The engine comparison of the instruction fuzzer reports a difference planted in the JIT's
# machine (its EAX changed after the run), and the same streams pass without it.
d=$("$fuzz" --quiet --fuzzers=insn --runs=5 --plant-difference --findings="$dir/planted" 2>&1)
grep -q "findings=[1-9]" <<<"$d" && grep -q "eax interp" <<<"$d" || fail "a planted engine difference went unreported: $d"
"$fuzz" --quiet --fuzzers=insn --runs=5 --findings="$dir/clean" >/dev/null 2>&1 || fail "the same streams without the planted difference failed"
echo "PASS: $c crashes, $h hangs and $f findings caught, kept and replayed"
