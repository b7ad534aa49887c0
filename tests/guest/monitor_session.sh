# Sourced by the guest tests that drive an emulator through its human monitor (QEMU's or
# popek's, as a user scripts them): the command line for each kind of run, failure
# counting, waiting for the guest's lines on the debug console, and quitting.
#
# The caller sets `out` (its output directory) and uses:
#   emulator_command KIND EMU DISK   sets the array `cmd`: popek, popek-interp (the
#                                    interpreter) or qemu (-M isapc), each with
#                                    -monitor stdio, -serial none and DISK as the first
#                                    IDE disk; exits 2 for another KIND
#   fail MESSAGE...                  prints FAIL: MESSAGE and counts it in `fails`
#   wait_line FILE LINE [SECONDS]    waits (default 60 s) for LINE, a whole line, in
#                                    FILE while the emulator `pid` runs; fails if not
#   stop_emulator                    `quit` on the monitor (fd 3), then waits 10 s for
#                                    `pid` to end; kills it and fails if it does not

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

emulator_command() {
  case $1 in
    popek) cmd=("$2" -m 32 -monitor stdio -serial none -hda "$3") ;;
    popek-interp) cmd=("$2" --engine=interp -m 32 -monitor stdio -serial none -hda "$3") ;;
    qemu) cmd=("$2" -M isapc -m 32 -display none -monitor stdio -serial none -drive file="$3",format=raw,if=ide) ;;
    *) echo "unknown kind $1" >&2; exit 2 ;;
  esac
}

wait_line() {
  local tries=$(( ${3:-60} * 50 ))
  for _ in $(seq 1 "$tries"); do
    grep -qx -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  fail "no line '$2' from the guest in $(basename "$1")"
  return 1
}

stop_emulator() {
  echo quit >&3
  exec 3>&-
  for _ in $(seq 1 500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "the emulator did not quit"
  fi
  wait "$pid" 2>/dev/null
}
