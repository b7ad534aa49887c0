#!/usr/bin/env bash
# Linux benchmark: the boot + workload of tests/linux/boot_test.sh (Debian 12 i386 kernel,
# busybox initramfs, IDE disk, -m 256) on QEMU TCG (-M isapc -cpu pentium2,-apic), popek's
# JIT and, with --with-interp, popek's interpreter (about 6 minutes more). For each run:
# the emulator's wall seconds, the time from its start to the first line the initramfs's
# init prints ("POPEK-TEST: init started ...": boot to userspace), its peak RSS
# (/usr/bin/time -f %M) against the guest RAM, and the ratios to QEMU. Every run must end
# with boot_test.sh's PASS line; any failure is reported and the script exits 1.
#   usage: scripts/bench-linux.sh [--with-interp] [POPEK_BINARY]  (default: build/popek, built first)
# POPEK_LINUX_TIMEOUT bounds each run (seconds, see boot_test.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
with_interp=0
popek=""
for a in "$@"; do
  case "$a" in
    --with-interp) with_interp=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench-linux: unknown option $a" >&2; exit 2 ;;
    *) popek="$a" ;;
  esac
done
if [ -z "$popek" ]; then
  bash scripts/setup.sh >/dev/null </dev/null || exit 1
  bash scripts/build.sh >/dev/null </dev/null || exit 1
  popek="$PWD/build/popek"
fi
popek="$(cd "$(dirname "$popek")" && pwd)/$(basename "$popek")"
[ -x "$popek" ] || { echo "bench-linux: no popek binary at $popek" >&2; exit 1; }
qemu="$(command -v qemu-system-i386)" || { echo "bench-linux: qemu-system-i386 is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-linux: /usr/bin/time is missing (scripts/setup.sh installs it)" >&2; exit 1; }
bash scripts/fetch-linux.sh </dev/null || exit 1
# boot_test.sh's guest RAM (MiB); the target for peak RSS is that plus 64 MiB.
ram=$(grep -o -- '-m [0-9]\+' tests/linux/boot_test.sh | head -n 1 | awk '{print $2}')
ram=${ram:-256}
source scripts/timing.sh  # mib

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# probe DIR EMULATOR ARG...: boot_test.sh runs this in place of the emulator. It runs the
# emulator under /usr/bin/time, passes its output through, and leaves in DIR the start,
# first-init-line and end times (date +%s.%N) and the peak RSS (the last line of "time").
cat >"$tmp/probe" <<'EOF'
#!/usr/bin/env bash
dir="$1"; shift
rm -f "$dir/fifo"; mkfifo "$dir/fifo"
(
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      *"POPEK-TEST: "*|*"popek initramfs"*) date +%s.%N >"$dir/marker"; break ;;
    esac
  done
  exec cat
) <"$dir/fifo" &
watcher=$!
date +%s.%N >"$dir/start"
/usr/bin/time -f %M -o "$dir/time" "$@" </dev/null >"$dir/fifo" &
emu=$!
# boot_test.sh's timeout signals this script only: pass it on to the emulator.
trap 'pkill -TERM -P "$emu" 2>/dev/null; kill -TERM "$emu" 2>/dev/null' TERM INT HUP
while :; do  # a trapped signal interrupts wait: wait again until the emulator is gone
  wait "$emu"; status=$?
  [ "$status" -le 128 ] && break
  kill -0 "$emu" 2>/dev/null || { wait "$emu"; status=$?; break; }
done
date +%s.%N >"$dir/end"
wait "$watcher"
exit "$status"
EOF
chmod +x "$tmp/probe"

failed=()
declare -A wall boot rss
run() {  # run NAME BOOT_TEST_ARGS...: EMULATOR in the arguments stands for the probe
  local name="$1"; shift
  local dir="$tmp/${name// /_}" a args=()
  mkdir -p "$dir"
  printf '#!/bin/sh\nexec "%s" "%s" "%s" "$@"\n' "$tmp/probe" "$dir" "$EMU" >"$dir/emu"
  chmod +x "$dir/emu"
  for a in "$@"; do [ "$a" = EMULATOR ] && args+=("$dir/emu") || args+=("$a"); done
  echo "bench-linux: running $name ..." >&2
  bash tests/linux/boot_test.sh "${args[@]}" </dev/null >"$dir/log" 2>&1
  local st=$?
  if [ "$st" != 0 ] || ! grep -q '^PASS: ' "$dir/log" || [ ! -s "$dir/end" ]; then
    {
      echo "bench-linux: FAIL: the $name run did not pass (boot_test.sh exit status $st); its log ends:"
      tail -n 40 "$dir/log" | sed 's/^/  | /'
    } >&2
    failed+=("$name")
    return
  fi
  local s m e
  s=$(cat "$dir/start"); e=$(cat "$dir/end")
  wall[$name]=$(echo "$e - $s" | bc -l)
  if [ -s "$dir/marker" ]; then m=$(cat "$dir/marker"); boot[$name]=$(echo "$m - $s" | bc -l); fi
  rss[$name]=$(tail -n 1 "$dir/time")
}

EMU="$qemu" run "qemu-tcg" --qemu EMULATOR
EMU="$popek" run "popek jit" EMULATOR --engine=jit
if [ "$with_interp" = 1 ]; then EMU="$popek" run "popek interp" EMULATOR --engine=interp; fi

names=("qemu-tcg" "popek jit")
[ "$with_interp" = 1 ] && names+=("popek interp")
ratio() {  # ratio ARRAY NAME: NAME's figure over QEMU's
  local -n arr="$1"
  if [ -n "${arr[$2]:-}" ] && [ -n "${arr[qemu-tcg]:-}" ]; then
    printf '%.2f' "$(echo "${arr[$2]} / ${arr[qemu-tcg]}" | bc -l)"
  else echo -; fi
}
num() { if [ -n "${1:-}" ]; then printf '%.2f' "$1"; else echo -; fi; }
printf 'Linux boot + workload (tests/linux/boot_test.sh), guest RAM %s MiB; peak RSS target %s MiB\n' \
  "$ram" "$((ram + 64))"
printf '%-14s %9s %9s %17s %9s %13s %9s\n' run seconds "x qemu" "boot to userspace" "x qemu" \
  "peak RSS MiB" "x RAM"
for n in "${names[@]}"; do
  r="${rss[$n]:-}"; xr="-"
  [[ "$r" =~ ^[0-9]+$ ]] && xr=$(printf '%.2f' "$(echo "$r / 1024 / $ram" | bc -l)")
  printf '%-14s %9s %9s %17s %9s %13s %9s\n' "$n" "$(num "${wall[$n]:-}")" "$(ratio wall "$n")" \
    "$(num "${boot[$n]:-}")" "$(ratio boot "$n")" "$(mib "$r")" "$xr"
done
[ "$with_interp" = 1 ] || echo "(popek interp skipped: pass --with-interp to add it, about 6 minutes)"
echo "seconds: the emulator's wall time; boot to userspace: from its start to init's first line"
if ((${#failed[@]})); then
  echo "bench-linux: FAILED: ${failed[*]} (see the logs above)" >&2
  exit 1
fi
