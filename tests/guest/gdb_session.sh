#!/bin/sh
# A real gdb (batch mode) debugs tests/guest/gdb_target.asm through popek's gdb stub:
# a breakpoint on a symbol and one on code mapped at a second linear address, registers,
# memory at a linear address the page tables map elsewhere, watchpoints that must stop
# right after the one instruction writing the variable (from the start, in translated
# code, and later), single steps, reverse-stepi, reverse-continue to a breakpoint, to the
# last write of a watched variable and to the start of history, a second breakpoint, and
# the guest's exit reported to gdb. The guest's output and final state hash must equal
# those of a run without the debugger: stopping and stepping in the middle of blocks, and
# travelling back through history, must not change what the guest executes.
#
# usage: gdb_session.sh POPEK GUEST_ELF ENGINE stdio|tcp
set -u
popek=$1 elf=$2 engine=$3 how=$4
command -v gdb >/dev/null 2>&1 || { echo "SKIP: gdb is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
common="-kernel $elf -serial none -rtc base=2001-02-03T04:05:06 --state-hash --engine=$engine"

# The reference: no debugger.
"$popek" $common -debugcon "file:$tmp/ref.out" 2>"$tmp/ref.err"
ref_status=$?
ref_hash=$(sed -n 's/^popek: state hash \([0-9a-f]*\) .*/\1/p' "$tmp/ref.err")
[ "$ref_status" = 33 ] && [ -n "$ref_hash" ] || { echo "FAIL: the reference run: status $ref_status"; cat "$tmp/ref.err"; exit 1; }

run="$popek $common -debugcon file:$tmp/gdb.out -S"
if [ "$how" = tcp ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $run -gdb "tcp::$port" 2>"$tmp/gdb.err" &
    pid=$!
    target="target remote 127.0.0.1:$port"
    # The stub listens before -S waits: give the process a moment to get there.
    for i in 1 2 3 4 5 6 7 8 9 10; do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port)).close()" 2>/dev/null && break
        sleep 0.2
    done
    # That probe connection was the stub's first client: it has gone; popek waits again.
else
    target="target remote | exec $run -gdb stdio 2>$tmp/gdb.err"
fi

sym() { nm "$elf" | awk -v s="$1" '$3 == s { print $1 }'; }
hex() { printf '%#x' "$((0x$1 + $2))"; }
# alias_next through the second mapping of its page (TLIN(2) = 0x01002000)
alias_bp=$(hex "$(sym alias_next)" $((0x01002000 - 0x$(sym alias_page))))

cat >"$tmp/cmds" <<GDB
set pagination off
set confirm off
file $elf
$target
printf "START eip=%#x\n", \$eip
break *$alias_bp
continue
printf "ALIAS eip=%#x eax=%d calls=%d\n", \$eip, \$eax, *(int *)&alias_calls
delete
watch *(int *)((char *)&slots + 4)
continue
printf "FWATCH ecx=%#x eip=%#x slot=%#x\n", \$ecx, \$eip, *(int *)((char *)&slots + 4)
delete
break *bump
continue
printf "BUMP1 ecx=%d eip=%#x\n", \$ecx, \$eip
delete
break *spin_first
reverse-continue
printf "RSPIN_BREAK ecx=%#x eip=%#x\n", \$ecx, \$eip
delete
break *bump
continue
printf "BUMP1 ecx=%d eip=%#x\n", \$ecx, \$eip
delete
watch *(int *)((char *)&slots + 20)
reverse-continue
printf "RSPIN_WATCH ecx=%#x eip=%#x slot=%#x\n", \$ecx, \$eip, *(int *)((char *)&slots + 20)
delete
break *spin_done
continue
printf "SPIN_DONE ecx=%#x eip=%#x\n", \$ecx, \$eip
delete
break *bump
continue
printf "BUMP1 ecx=%d eip=%#x\n", \$ecx, \$eip
continue
printf "BUMP2 ecx=%d cs=%#x cr0=%#x\n", \$ecx, \$cs, \$cr0
printf "MARKER %#x\n", *(unsigned int *)0x01000010
printf "BYTES %#x\n", *(unsigned char *)(0x01000010 + 3)
delete
stepi 2000
printf "STEPPED ecx=%d\n", \$ecx
watch *(int *)&watched
continue
printf "WATCH eip=%#x watched=%d\n", \$eip, *(int *)&watched
delete
stepi
printf "STEP eip=%#x\n", \$eip
reverse-stepi
printf "RSTEP eip=%#x\n", \$eip
reverse-stepi
printf "RSTEP2 eip=%#x watched=%d\n", \$eip, *(int *)&watched
break *bump
reverse-continue
printf "RBUMP ecx=%d eip=%#x\n", \$ecx, \$eip
delete
watch *(int *)&watched
reverse-continue
printf "RWATCH ecx=%d eip=%#x watched=%d\n", \$ecx, \$eip, *(int *)&watched
delete
break *((char *)bump + 6)
reverse-continue
delete
reverse-finish
printf "RFINISH ecx=%d eip=%#x\n", \$ecx, \$eip
break *after_loop
continue
printf "AFTER counter=%d eip=%#x\n", *(int *)&counter, \$eip
delete
reverse-continue
printf "BEGIN eip=%#x\n", \$eip
continue
GDB
timeout 60 gdb -nx -batch -x "$tmp/cmds" >"$tmp/gdb.log" 2>&1
gdb_status=$?
[ -n "$pid" ] && wait $pid
echo "--- gdb (status $gdb_status) ---"; cat "$tmp/gdb.log"
echo "--- popek's stderr ---"; cat "$tmp/gdb.err"

bump=$(hex "$(sym bump)" 0)
store=$(sym store_watched)
after=$(hex "$(sym after_loop)" 0)
fails=0
expect() {
    if grep -qxF "$1" "$tmp/gdb.log"; then echo "ok: $1"
    else echo "MISSING: $1"; fails=$((fails + 1)); fi
}
# The ninth call of aliased, through its page's second mapping: a breakpoint there stops
# it though the first eight calls linked aliased's translated code to alias_next's.
expect "ALIAS eip=$alias_bp eax=8 calls=8"
# The first write of slots[1] (ecx 0x4000) in the hot loop, from the start: the stop
# comes right after mov [slots + edx * 4], ecx (7 bytes) though translated code ran it.
expect "FWATCH ecx=0x4000 eip=$(hex "$(sym spin_store)" 7) slot=0x4000"
expect "BUMP1 ecx=0 eip=$bump"
# Back from the first call into the hot loop before it, 490,000 instructions back: the
# last pass at spin_first; forward to the call again; back to the last write of slots[5]
# (at its instruction, the slot as it was); forward to the loop's end and the call.
expect "RSPIN_BREAK ecx=0x17fff eip=$(hex "$(sym spin_first)" 0)"
expect "RSPIN_WATCH ecx=0x17fff eip=$(hex "$(sym spin_store)" 0) slot=0x17ffe"
expect "SPIN_DONE ecx=0x30000 eip=$(hex "$(sym spin_done)" 0)"
expect "BUMP2 ecx=1 cs=0x8 cr0=0x80000011"
expect "MARKER 0x600dbeef"
expect "BYTES 0x60"
expect "STEPPED ecx=1"
# mov [watched], eax is 5 bytes: the stop comes right after it (in the second call, which writes 2).
expect "WATCH eip=$(hex "$store" 5) watched=2"
expect "STEP eip=$(hex "$store" 6)"
# Reverse execution: back over the step and over the write, to the bump call's entry, to
# the previous write of the watched variable, and to the start of history.
expect "RSTEP eip=$(hex "$store" 5)"
expect "RSTEP2 eip=$(hex "$store" 0) watched=1"
expect "RBUMP ecx=1 eip=$bump"
expect "RWATCH ecx=0 eip=$(hex "$store" 0) watched=0"
# reverse-finish from inside bump (after its HLT: a frame gdb unwinds through EBP) to
# the call.
expect "RFINISH ecx=0 eip=$(hex "$(sym call_bump)" 0)"
expect "AFTER counter=55 eip=$after"
expect "No more reverse-execution history."
expect "BEGIN eip=$(hex "$(sym _start)" 0)"
grep -q "exited with code 041" "$tmp/gdb.log" && echo "ok: gdb saw the exit (status 33)" ||
    { echo "MISSING: gdb did not see the guest exit with status 33"; fails=$((fails + 1)); }
hash=$(sed -n 's/^popek: state hash \([0-9a-f]*\) .*/\1/p' "$tmp/gdb.err")
if [ "$hash" = "$ref_hash" ]; then echo "ok: state hash $hash as without the debugger"
else echo "FAIL: state hash '$hash' under gdb, $ref_hash without"; fails=$((fails + 1)); fi
# At after_loop the guest had printed its first line; back at the start of history and
# run on, it prints everything again (as a second run would).
{ head -n 1 "$tmp/ref.out"; cat "$tmp/ref.out"; } >"$tmp/want.out"
if cmp -s "$tmp/want.out" "$tmp/gdb.out"; then echo "ok: same guest output"
else echo "FAIL: the guest's output differs under gdb"; diff "$tmp/want.out" "$tmp/gdb.out"; fails=$((fails + 1)); fi
[ "$fails" = 0 ] && echo PASS || echo "FAIL: $fails"
[ "$fails" = 0 ]
