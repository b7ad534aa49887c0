#!/usr/bin/env bash
# A robustness fuzzing campaign (tests/fuzz/): random instruction streams on both engines,
# random port I/O and ATA traffic, malformed kernels, initrds, firmware and disk images, on
# the sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer, built in build-asan/).
# The work is split into JOBS parallel slices of one campaign (the cases of a seed are
# numbered; each job runs its own range). Every crashing or hanging input, and every input
# the oracle rejects, is kept as a reproducer in the findings directory; replay one with
#   build-asan/tests/fuzz/popek_fuzz --replay FILE
#
#   usage: scripts/fuzz.sh [options]
#     --seed N        campaign seed (default 1)
#     --streams N     instruction streams (default 100000; each runs on both engines)
#     --inputs N      device and loader inputs, half each (default 10000)
#     --time SECONDS  instead of counts: run this long (80% streams, 10% each other fuzzer)
#     --fuzzers LIST  a subset of insn,device,loader (default all)
#     --jobs N        parallel processes (default 2)
#     --out DIR       findings directory (default fuzz-findings)
#     --binary FILE   a popek_fuzz to use instead of building build-asan/
#   Anything after -- goes to every popek_fuzz (e.g. -- --budget=2000 --timeout=30).
# Prints the totals: runs, instruction streams, device/loader inputs, crashes, hangs,
# findings. Exit status 0 when nothing was found, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
seed=1 streams=100000 inputs=10000 time_limit="" fuzzers="insn,device,loader" jobs=2
out=fuzz-findings binary="" extra=()
while (($#)); do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --inputs) inputs="$2"; shift 2 ;;
    --time) time_limit="$2"; shift 2 ;;
    --fuzzers) fuzzers="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
for n in "$seed" "$streams" "$inputs" "$jobs"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "fuzz: '$n' is not a number" >&2; exit 2; }
done
[ "$jobs" -ge 1 ] || jobs=1

if [ -z "$binary" ]; then
  bash scripts/setup.sh >/dev/null </dev/null || exit 1
  echo "fuzz: building the sanitizer build in build-asan/ ..." >&2
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOPEK_SANITIZE=ON >/dev/null || exit 1
  cmake --build build-asan -j"$jobs" --target popek_fuzz >/dev/null || exit 1
  binary=build-asan/tests/fuzz/popek_fuzz
fi
[ -x "$binary" ] || { echo "fuzz: no popek_fuzz at $binary" >&2; exit 1; }
mkdir -p "$out"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# count FUZZER: how many cases that fuzzer gets.
count() {
  case "$1" in
    insn) echo "$streams" ;;
    device) echo $((inputs / 2)) ;;
    loader) echo $((inputs - inputs / 2)) ;;
  esac
}
# share FUZZER: its part of --time.
share() { if [ "$1" = insn ]; then echo 0.8; else echo 0.1; fi; }

start=$(date +%s)
IFS=, read -r -a list <<<"$fuzzers"
for ((j = 0; j < jobs; j++)); do
  (
    for f in "${list[@]}"; do
      if [ -n "$time_limit" ]; then
        t=$(echo "$time_limit * $(share "$f")" | bc -l)
        # Each job runs its own seed's cases when the count is open-ended.
        "$binary" --quiet --fuzzers="$f" --seed=$((seed + j * 1000003)) --runs=1e12 --time="$t" \
          --findings="$out" "${extra[@]}"
      else
        n=$(count "$f"); first=$((n * j / jobs)); last=$((n * (j + 1) / jobs))
        ((last > first)) || continue
        "$binary" --quiet --fuzzers="$f" --seed="$seed" --first="$first" --runs=$((last - first)) \
          --findings="$out" "${extra[@]}"
      fi
    done
  ) >"$logs/job$j.log" 2>"$logs/job$j.err" &
done
wait
elapsed=$(($(date +%s) - start))

sum() { grep -h '^popek_fuzz totals:' "$logs"/job*.log | grep -o "$1=[0-9]*" | cut -d= -f2 | paste -sd+ | bc; }
streams_done=$(sum streams); inputs_done=$(sum inputs); insns=$(sum insns); cut=$(sum cut)
crashes=$(sum crashes); hangs=$(sum hangs); findings=$(sum findings)
grep -h -E 'CRASH|HANG|FINDING|reproducer' "$logs"/job*.err | head -n 40 >&2
echo "fuzz: seed $seed, $jobs jobs, ${elapsed} s on $(nproc) cores, $binary"
echo "  runs: $((${streams_done:-0} + ${inputs_done:-0}))"
echo "  instruction streams: ${streams_done:-0} (each on the interpreter and the JIT; ${insns:-0} guest instructions; ${cut:-0} runs cut by the soft host-time limit)"
echo "  device/loader inputs: ${inputs_done:-0}"
echo "  crashes: ${crashes:-0}, hangs: ${hangs:-0}, findings: ${findings:-0} (reproducers in $out/)"
((${crashes:-0} + ${hangs:-0} + ${findings:-0} == 0))
