#!/bin/sh
# Run one guest image on an emulator and compare its debug-console output
# with the expected text.
#
# usage: run_guest.sh MODE EMULATOR KIND IMAGE EXPECTED [DEPARTURES]
#   MODE        popek | popek-jit | popek-lockstep | qemu   (popek runs the
#               interpreter, --engine=interp; popek-jit adds --engine=jit --stats; popek-lockstep adds --engine=jit --lockstep: the
#               interpreter runs beside the JIT, a difference exits with status 3
#               and a report on stderr; qemu adds
#               -M isapc -cpu pentium2 -monitor none; the CPU model is the
#               first non-comment line of EXPECTED's sibling <name>.qemu-cpu
#               instead of pentium2 when that file exists)
#   EMULATOR    path of the emulator executable
#   KIND        kernel (multiboot ELF, -kernel) | bios (64 KiB ROM, -bios)
#   IMAGE       the guest image
#   EXPECTED    expected output (exact bytes written to port 0xE9)
#   DEPARTURES  optional, qemu mode only: lines where QEMU departs from the SDM
#               "N reason"          ignore line N (1-based) in expected and got
#               "/REGEX/ reason"    ignore lines matching the extended regex
#               "status S reason"   expect exit status S instead of 33
#               lines starting with # are comments
# environment:
#   GUEST_TIMEOUT  seconds before the run counts as failed (default 20)
#   GUEST_MEM      guest RAM in MiB (default 32)
# Exit status 0 when the output matches and the emulator exits with 33
# (the guest wrote 0x10 to port 0xF4), 1 otherwise.

set -u
if [ $# -lt 5 ]; then
    echo "usage: $0 popek|popek-jit|popek-lockstep|qemu EMULATOR kernel|bios IMAGE EXPECTED [DEPARTURES]" >&2
    exit 2
fi
mode=$1 emu=$2 kind=$3 image=$4 expected=$5 departures=${6:-}
timeout_s=${GUEST_TIMEOUT:-20}
mem=${GUEST_MEM:-32}

case $kind in
    kernel) imgopt=-kernel ;;
    bios)   imgopt=-bios ;;
    *) echo "bad kind: $kind" >&2; exit 2 ;;
esac
case $mode in
    popek) machopts=--engine=interp ;;
    popek-jit) machopts="--engine=jit --stats" ;;
    popek-lockstep) machopts="--engine=jit --lockstep" ;;
    qemu)  cpu=pentium2
           if [ -f "${expected%.txt}.qemu-cpu" ]; then
               cpu=$(sed -n '/^[^#]/{p;q;}' "${expected%.txt}.qemu-cpu")
           fi
           machopts="-M isapc -cpu $cpu -monitor none" ;;
    *) echo "bad mode: $mode" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck disable=SC2086
timeout -k 5 "$timeout_s" "$emu" $machopts -m "$mem" -nographic -no-reboot \
    -serial none -debugcon stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    "$imgopt" "$image" </dev/null >"$tmp/got" 2>"$tmp/stderr"
status=$?

want_status=33
cp "$expected" "$tmp/want"
if [ "$mode" = qemu ] && [ -n "$departures" ] && [ -f "$departures" ]; then
    lines= regexes=
    while read -r key reason; do
        case $key in
            ''|'#'*) ;;
            status) want_status=${reason%% *} ;;
            /*/) regexes="$regexes${regexes:+
}${key#/}" ;;
            *[!0-9]*) echo "bad departure entry: $key" >&2; exit 2 ;;
            *) lines="$lines $key" ;;
        esac
    done <"$departures"
    for f in want got; do
        awk -v drop="$lines" 'BEGIN { n = split(drop, d, " "); for (i = 1; i <= n; i++) skip[d[i]] = 1 }
                              !(NR in skip)' "$tmp/$f" >"$tmp/$f.1"
        cp "$tmp/$f.1" "$tmp/$f.2"
        if [ -n "$regexes" ]; then
            printf '%s\n' "$regexes" | while read -r re; do
                re=${re%/}
                grep -Ev -- "$re" "$tmp/$f.2" >"$tmp/$f.3"
                mv "$tmp/$f.3" "$tmp/$f.2"
            done
        fi
        mv "$tmp/$f.2" "$tmp/$f"
    done
fi

ok=1
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "TIMEOUT after ${timeout_s}s"
    ok=0
elif [ "$status" -ne "$want_status" ]; then
    echo "exit status $status, want $want_status"
    ok=0
fi
if ! cmp -s "$tmp/want" "$tmp/got"; then
    echo "output differs (--- expected, +++ got):"
    diff -u "$tmp/want" "$tmp/got" | sed '1s/.*/--- expected/;2s/.*/+++ got/'
    ok=0
fi
# The JIT must really have run: blocks translated and instructions emitted as host code
# (with the JIT switched off, a .jit test would otherwise pass on the interpreter).
if [ "$mode" = popek-jit ]; then
    translated=$(sed -n 's/^popek: jit: \([0-9]*\) blocks translated.*/\1/p' "$tmp/stderr")
    native=$(sed -n 's/^popek: jit: \([0-9]*\) guest instructions emitted as host code.*/\1/p' "$tmp/stderr")
    # (16-bit code is translated call-threaded: no instruction of a ROM guest need be native)
    if [ "${translated:-0}" -eq 0 ] || { [ "$kind" = kernel ] && [ "${native:-0}" -eq 0 ]; }; then
        echo "the JIT did not run: ${translated:-no} blocks translated, ${native:-no} instructions emitted as host code"
        ok=0
    else
        echo "jit: $translated blocks translated, $native instructions emitted as host code"
    fi
fi
if [ $ok -eq 0 ]; then
    if [ -s "$tmp/stderr" ]; then
        echo "emulator stderr:"
        # a lockstep report (states side by side, host code) is longer
        if [ "$mode" = popek-lockstep ]; then head -n 300 "$tmp/stderr"; else head -n 40 "$tmp/stderr"; fi
    fi
    exit 1
fi
echo "pass: $(wc -l <"$tmp/got") lines, exit status $status"
exit 0
