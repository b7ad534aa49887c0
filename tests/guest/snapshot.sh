#!/bin/sh
# Snapshots on a small guest (tests/guest/snapshot.asm, whose output depends on the
# instruction at which each timer interrupt lands): a run that saves at instruction N
# (-savevm-at) and goes on to the end gives output O and final state hash H; a run from
# that snapshot (-loadvm) prints exactly the rest of O and ends with H. Every pair of
# engines (interp and jit, saving and loading), and both engines' full runs agree.
#
# usage: snapshot.sh POPEK IMAGE
set -u
popek=$1 image=$2
at=2500000
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snapshot.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

run() {  # run NAME ENGINE OPTION... : stdout to $tmp/NAME.out, the hash to $tmp/NAME.hash
    name=$1 engine=$2
    shift 2
    timeout -k 5 60 "$popek" --engine="$engine" -m 32 -nographic -no-reboot -serial none \
        -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -rtc base=2020-01-01T00:00:00 -kernel "$image" --state-hash "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
    [ $status -eq 33 ] || { cat "$tmp/$name.err"; fail "$name: exit status $status (expected 33)"; }
    sed -n 's/^popek: state hash \([0-9a-f]*\) at instruction \([0-9]*\)$/\1 \2/p' "$tmp/$name.err" >"$tmp/$name.hash"
    [ -s "$tmp/$name.hash" ] || { cat "$tmp/$name.err"; fail "$name: no state hash"; }
}

for e in interp jit; do
    run "full-$e" $e -savevm-at "$at,$tmp/snap-$e"
    [ -s "$tmp/snap-$e" ] || fail "full-$e: no snapshot written"
    echo "full run ($e): $(wc -l <"$tmp/full-$e.out") lines, hash and count $(cat "$tmp/full-$e.hash")"
done
cmp -s "$tmp/full-interp.out" "$tmp/full-jit.out" || fail "the engines' outputs differ"
cmp -s "$tmp/full-interp.hash" "$tmp/full-jit.hash" || fail "the engines' final states differ"
full="$tmp/full-interp.out"
full_lines=$(wc -l <"$full")

for saver in interp jit; do
    for loader in interp jit; do
        name="load-$saver-$loader"
        run "$name" $loader -loadvm "$tmp/snap-$saver"
        rest="$tmp/$name.out"
        lines=$(wc -l <"$rest")
        [ "$lines" -gt 1 ] && [ "$lines" -lt "$full_lines" ] ||
            fail "$name: $lines lines after the snapshot, expected some but fewer than $full_lines"
        size=$(wc -c <"$rest")
        tail -c "$size" "$full" | cmp -s - "$rest" ||
            { diff "$full" "$rest" | head -20; fail "$name: the output is not the rest of the full run's"; }
        cmp -s "$tmp/full-$saver.hash" "$tmp/$name.hash" ||
            fail "$name: state hash and count $(cat "$tmp/$name.hash"), the full run ended with $(cat "$tmp/full-$saver.hash")"
        echo "$name: the last $lines lines and the same final state"
    done
done
echo PASS
