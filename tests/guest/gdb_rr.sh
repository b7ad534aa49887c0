#!/bin/sh
# Reverse execution in gdb while recording or replaying (-icount rr=), a real gdb in batch
# mode on tests/guest/serial_echo.asm, whose run depends on when its serial input comes
# ('!' makes it spin two million instructions, so history has checkpoints between bytes):
#
#  1. replay under gdb (-gdb stdio): to the sixth byte's read, reverse-stepi, three
#     reverse-continues back to earlier reads (the log's serial input, checkpoints and
#     cursor go back with the machine), forward to a read and to the next write of a
#     watched variable, then on to the end: exit status 33, the recorded state hash and
#     debug console, no divergence;
#  2. record under gdb (-gdb tcp, input through a pipe that is still writing): reverse
#     steps back over bytes already taken, then on to the end past what was recorded: each
#     byte and checkpoint is in the log once, and the log replays to the same state hash;
#  3. record under gdb, a reverse-continue, then gdb's kill: the log ends at that point
#     (what was recorded past it is cut off) and replays cleanly to there.
#
# usage: gdb_rr.sh POPEK SERIAL_ECHO_ELF OUTDIR
set -u
popek=$1 elf=$2 out=$3
command -v gdb >/dev/null 2>&1 || { echo "SKIP: gdb is not installed"; exit 77; }
mkdir -p "$out"
rm -f "$out"/*
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
common="-m 16 -kernel $elf --state-hash"
rr() { echo "-icount shift=3,rr=$1,rrfile=$out/$2$([ "$1" = record ] && echo ,rrcheck=20000)"; }
sym() { printf '%#x' "0x$(nm "$elf" | awk -v s="$1" '$3 == s { print $1 }')"; }
got=$(sym test_main.got)
wait_jnz=$(printf '%#x' $(($(sym test_main.wait) + 7)))  # jnz .got
hash_of() { sed -n 's/^popek: state hash \([0-9a-f]*\) .*/\1/p' "$1"; }
feed() { printf 'ab!'; sleep 0.3; printf 'c!'; sleep 0.3; printf 'dq'; }
# The log's lines of one kind appear once each and in order.
once_in_order() {  # log kind what
    [ "$(grep "^$2 " "$1" | sort -u | wc -l)" = "$(grep -c "^$2 " "$1")" ] || fail "$3: a $2 record twice"
    grep "^$2 " "$1" | awk '{ if (NR > 1 && ($2 < i || ($2 == i && $3 < d))) bad = 1; i = $2; d = $3 } END { exit bad }' ||
        fail "$3: $2 records out of order"
}
replay_clean() {  # log tag expected-status expected-hash
    "$popek" --engine=jit $(rr replay "$1") $common -serial none -debugcon "file:$out/$2.dbg" \
        </dev/null >/dev/null 2>"$out/$2.err"
    st=$?
    [ "$st" = "$3" ] || { fail "$2: status $st (expected $3)"; cat "$out/$2.err"; }
    grep -q diverged "$out/$2.err" && fail "$2: diverged"
    [ "$(hash_of "$out/$2.err")" = "$4" ] || fail "$2: state hash '$(hash_of "$out/$2.err")', recorded '$4'"
    [ "$st" = "$3" ] && ok "$2: status $st, state hash $4"
}

# --- 1. replay under gdb
feed | "$popek" --engine=jit $(rr record plain.log) $common -serial stdio -debugcon "file:$out/plain.dbg" \
    >/dev/null 2>"$out/plain.err"
st=$? rec_hash=$(hash_of "$out/plain.err")
[ "$st" = 33 ] && [ -n "$rec_hash" ] || { fail "the recording: status $st"; cat "$out/plain.err"; }
[ "$(grep -c '^S .* take ' "$out/plain.log")" = 7 ] || fail "the recording: 7 bytes expected in the log"

cat >"$out/replay.gdb" <<GDB
set pagination off
set confirm off
file $elf
target remote | exec $popek --engine=jit $(rr replay plain.log) $common -serial none -debugcon file:$out/replay.dbg -S -gdb stdio 2>$out/replay.err
break *$got
ignore 1 5
continue
printf "AT6 count=%d eip=%#x\n", *(int *)&count, \$eip
reverse-stepi
printf "RSTEP count=%d eip=%#x\n", *(int *)&count, \$eip
reverse-continue
printf "RCONT5 count=%d eip=%#x\n", *(int *)&count, \$eip
reverse-continue
printf "RCONT4 count=%d eip=%#x\n", *(int *)&count, \$eip
reverse-continue
printf "RCONT3 count=%d eip=%#x\n", *(int *)&count, \$eip
continue
printf "AGAIN4 count=%d eip=%#x\n", *(int *)&count, \$eip
delete
watch *(int *)&count
continue
printf "FWATCH count=%d eip=%#x\n", *(int *)&count, \$eip
delete
continue
GDB
timeout 60 gdb -nx -batch -x "$out/replay.gdb" >"$out/replay.gdb.log" 2>&1
echo "--- gdb on the replay ---"; cat "$out/replay.gdb.log"; echo "--- popek's stderr ---"; cat "$out/replay.err"
expect() {
    if grep -qxF "$2" "$1"; then ok "$2"; else fail "missing: $2"; fi
}
expect "$out/replay.gdb.log" "AT6 count=5 eip=$got"
expect "$out/replay.gdb.log" "RSTEP count=5 eip=$wait_jnz"
expect "$out/replay.gdb.log" "RCONT5 count=4 eip=$got"
expect "$out/replay.gdb.log" "RCONT4 count=3 eip=$got"
expect "$out/replay.gdb.log" "RCONT3 count=2 eip=$got"
expect "$out/replay.gdb.log" "AGAIN4 count=3 eip=$got"
expect "$out/replay.gdb.log" "FWATCH count=4 eip=$(sym test_main.counted)"
grep -q "exited with code 041" "$out/replay.gdb.log" && ok "gdb saw the exit (status 33)" || fail "gdb did not see status 33"
grep -q diverged "$out/replay.err" && fail "the replay under gdb diverged"
[ "$(hash_of "$out/replay.err")" = "$rec_hash" ] && ok "replay under gdb: state hash $rec_hash as recorded" ||
    fail "replay under gdb: state hash '$(hash_of "$out/replay.err")', recorded '$rec_hash'"
cmp -s "$out/plain.dbg" "$out/replay.dbg" && ok "replay under gdb: the recorded debug console" ||
    fail "replay under gdb: the debug console differs"

# --- 2. and 3. record under gdb (TCP; the serial port reads the pipe)
record_under_gdb() {  # tag gdb-commands-after-the-breakpoint...
    tag=$1; shift
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    feed | "$popek" --engine=jit $(rr record "$tag.log") $common -serial stdio -debugcon "file:$out/$tag.dbg" \
        -S -gdb "tcp::$port" >/dev/null 2>"$out/$tag.err" &
    pid=$!
    for i in 1 2 3 4 5 6 7 8 9 10; do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$port)).close()" 2>/dev/null && break
        sleep 0.2
    done
    { printf 'set pagination off\nset confirm off\nfile %s\ntarget remote 127.0.0.1:%s\nbreak *%s\n' "$elf" "$port" "$got"
      for c in "$@"; do printf '%s\n' "$c"; done; } >"$out/$tag.gdb"
    timeout 60 gdb -nx -batch -x "$out/$tag.gdb" >"$out/$tag.gdb.log" 2>&1
    wait $pid
    rec_status=$?
    pid=
    echo "--- gdb recording ($tag) ---"; cat "$out/$tag.gdb.log"; echo "--- popek's stderr ---"; cat "$out/$tag.err"
}
show='printf "COUNT count=%d eip=%#x\n", *(int *)&count, $eip'
record_under_gdb rec 'ignore 1 3' continue "$show" reverse-stepi "$show" reverse-continue "$show" reverse-continue "$show" \
    delete continue
expect "$out/rec.gdb.log" "COUNT count=3 eip=$got"
expect "$out/rec.gdb.log" "COUNT count=3 eip=$wait_jnz"
expect "$out/rec.gdb.log" "COUNT count=2 eip=$got"
expect "$out/rec.gdb.log" "COUNT count=1 eip=$got"
[ "$rec_status" = 33 ] || fail "recording under gdb: status $rec_status (expected 33)"
[ "$(grep -c '^S .* take ' "$out/rec.log")" = 7 ] || fail "recording under gdb: 7 bytes expected in the log"
once_in_order "$out/rec.log" S "recording under gdb"
once_in_order "$out/rec.log" C "recording under gdb"
grep -q "^sum " "$out/rec.dbg" || fail "recording under gdb: no checksum on the debug console"
replay_clean rec.log rec.replay 33 "$(hash_of "$out/rec.err")"
cmp -s "$out/rec.dbg" "$out/rec.replay.dbg" || fail "recording under gdb: the replay's debug console differs"

# Killed back at the third byte's read: the checkpoints of the spin after it and whatever
# input came later were recorded past the present, and must not stay in the log (a replay
# would refuse records out of order).
record_under_gdb kill 'ignore 1 3' continue reverse-continue "$show" kill
expect "$out/kill.gdb.log" "COUNT count=2 eip=$got"
[ "$rec_status" = 0 ] || fail "recording killed by gdb: status $rec_status (expected 0)"
once_in_order "$out/kill.log" C "recording killed by gdb"
tail -n 2 "$out/kill.log" | grep -q '^E .* 0 1 quit' || fail "recording killed by gdb: no end record for the kill"
end=$(sed -n 's/^E \([0-9]*\) .*/\1/p' "$out/kill.log")
[ "$(awk -v e="$end" '/^[SCI] / && $2 > e' "$out/kill.log" | wc -l)" = 0 ] || fail "recording killed by gdb: records past its end"
replay_clean kill.log kill.replay 0 "$(hash_of "$out/kill.err")"

[ "$fails" = 0 ] && { echo "PASS: reverse execution under record/replay"; exit 0; }
echo "FAIL: $fails check(s)"
exit 1
