#!/bin/sh
# Record/replay (-icount rr=record|replay) on tests/guest/serial_echo.asm, a guest whose
# output depends on when its serial input arrives (bytes mixed with the timer's tick
# count) and on the RTC's start time.
#
# usage: record_replay.sh POPEK IMAGE OUTDIR
#
#  1. record on each engine with bytes fed through a pipe at host-chosen moments;
#  2. replay each recording on both engines (with live serial input offered, which must
#     be ignored): the serial output, the debug console, the exit status and
#     --state-hash equal the recording's;
#  3. a log with one input byte changed: status 2 and a report at the first checkpoint
#     after that input, naming the last checkpoint that matched;
#  4. a truncated log, a corrupt one and a run with another -m: status 1 and one line
#     on stderr naming the file and what is wrong.
set -u
popek=$1 image=$2 out=$3
mkdir -p "$out"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
common="-m 16 -kernel $image --state-hash"

feed() { sleep 0.2; printf 'hel'; sleep 0.3; printf 'lo'; sleep 0.2; printf ' world'; sleep 0.1; printf 'q'; }

for rec in jit interp; do
    log=$out/$rec.log
    feed | "$popek" --engine=$rec -icount shift=3,rr=record,rrfile=$log,rrcheck=5000 $common \
        -serial stdio -debugcon file:$out/$rec.rec.dbg >$out/$rec.rec.out 2>$out/$rec.rec.err
    st=$?
    [ "$st" = 33 ] || fail "record on $rec: exit status $st (expected 33)"
    grep -q '^sum ' $out/$rec.rec.dbg || fail "record on $rec: no checksum on the debug console"
    [ "$(grep -c '^S .* take ' $log)" = 12 ] || fail "record on $rec: 12 input bytes expected in the log"
    [ "$(grep -c '^C ' $log)" -ge 10 ] || fail "record on $rec: fewer than 10 checkpoints"
    for rep in jit interp; do
        tag=$rec-on-$rep
        printf 'xyz' | "$popek" --engine=$rep -icount shift=3,rr=replay,rrfile=$log $common \
            -serial stdio -debugcon file:$out/$tag.dbg >$out/$tag.out 2>$out/$tag.err
        st=$?
        [ "$st" = 33 ] || fail "$tag: exit status $st (expected 33)"
        cmp -s $out/$rec.rec.out $out/$tag.out || fail "$tag: serial output differs"
        cmp -s $out/$rec.rec.dbg $out/$tag.dbg || fail "$tag: debug console differs"
        a=$(grep '^popek: state hash' $out/$rec.rec.err) b=$(grep '^popek: state hash' $out/$tag.err)
        [ -n "$a" ] && [ "$a" = "$b" ] || fail "$tag: state hash '$b', recorded '$a'"
        grep -q "serial input from the host is ignored" $out/$tag.err || fail "$tag: live serial input not said to be ignored"
        [ "$st" = 33 ] && echo "ok: recorded on $rec, replayed on $rep: $b"
    done
done

# One input byte changed: the second byte taken ('e' becomes 'f').
log=$out/jit.log
awk 'BEGIN { n = 0 } / take / { n++; if (n == 2) { $NF = $NF + 1 } } { print }' $log >$out/tampered.log
line=$(grep -n ' take ' $log | sed -n 2p)
at=$(echo "$line" | cut -d' ' -f2) idle=$(echo "$line" | cut -d' ' -f3)
# The first checkpoint after it, and the last one before it.
want=$(awk -v i=$at -v d=$idle '/^[CF] / && ($2 > i || ($2 == i && $3 > d)) { print $2; exit }' $log)
good=$(awk -v i=$at -v d=$idle '/^C / && ($2 < i || ($2 == i && $3 <= d)) { g = $2 } END { print g }' $log)
"$popek" -icount shift=3,rr=replay,rrfile=$out/tampered.log $common -serial none -debugcon none \
    </dev/null >/dev/null 2>$out/tampered.err
st=$?
cat $out/tampered.err
[ "$st" = 2 ] || fail "tampered log: exit status $st (expected 2)"
grep -q "^popek: replay of .* diverged at instruction $want[ :]" $out/tampered.err ||
    fail "tampered log: no report at instruction $want (the first checkpoint after the change at $at)"
grep -q "^popek: the last checkpoint that matched: instruction $good\$" $out/tampered.err ||
    fail "tampered log: the last matching checkpoint is not $good"
grep -Eq '^  (RAM differs|devices differ|CPU )' $out/tampered.err || fail "tampered log: the report names nothing that differs"

# Logs that cannot be used: one line, status 1.
one_line_error() {  # name expected-text popek-args...
    name=$1 text=$2; shift 2
    "$popek" "$@" -serial none -debugcon none </dev/null >/dev/null 2>$out/$name.err
    st=$?
    cat $out/$name.err
    [ "$st" = 1 ] || fail "$name: exit status $st (expected 1)"
    [ "$(wc -l <$out/$name.err)" = 1 ] || fail "$name: not one line on stderr"
    grep -q "^popek: -icount rrfile=.*$text" $out/$name.err || fail "$name: the error does not say '$text'"
}
head -c $(($(wc -c <$log) / 2)) $log >$out/truncated.log
one_line_error truncated "truncated" -icount shift=3,rr=replay,rrfile=$out/truncated.log $common
head -n -2 $log >$out/no_end.log
one_line_error no_end "truncated" -icount shift=3,rr=replay,rrfile=$out/no_end.log $common
sed '0,/^C /s/^C \([0-9]*\) \([0-9]*\) ../C \1 \2 zz/' $log >$out/corrupt.log
one_line_error corrupt "bad checkpoint" -icount shift=3,rr=replay,rrfile=$out/corrupt.log $common
one_line_error other_ram "recorded with ram 16777216; this run has 33554432" \
    -icount shift=3,rr=replay,rrfile=$log -m 32 -kernel $image
one_line_error missing "cannot open" -icount shift=3,rr=replay,rrfile=$out/absent.log $common

[ "$fails" = 0 ] && { echo "PASS: record/replay"; exit 0; }
echo "FAIL: $fails check(s)"
exit 1
