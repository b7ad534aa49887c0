; gdb_target.asm - a guest for the gdb stub's tests (tests/guest/gdb_session.sh): named
; places to break at and a variable to watch, paging on with a linear page that is not
; its physical page, and the PIT interrupting 100,000 times a second (each call of bump
; waits for a tick in HLT, then works in long blocks that the next tick interrupts), so that a debugger stopping and stepping the guest in the
; middle of blocks and between interrupts must leave what it executes unchanged (the session compares --state-hash with a run
; without the debugger).
;
;   bump            called ten times with ECX = 0..9; adds ECX + 1 to `counter`
;   store_watched   the one instruction that writes `watched` (ECX + 1 each call)
;   after_loop      reached once, after the last call
;   TLIN(0) + 0x10  (0x01000010) holds 0x600DBEEF through the page tables; physical
;                   PHYS(1) + 0x10
;   spin            before the calls: a hot loop of 0x30000 turns (translated code on the
;                   JIT), ECX = 0..0x2FFFF; at spin_store, slots[ECX >> 14] = ECX; at
;                   spin_first (ECX < 0x18000 only) a breakpoint hit 490,000 instructions
;                   before spin_done: reverse execution must find it, and the last write
;                   of slots[5] (ECX = 0x17FFF), through per-block checks
;   aliased         before spin: a routine alone in its page, which TLIN(2) maps too;
;                   called eight times there, then once through TLIN(2) (EAX = 8):
;                   a breakpoint at alias_next's alias must stop that call, though
;                   translated code jumps from aliased to alias_next directly

%include "lib/mb32.inc"
%include "lib/timer.inc"
%include "lib/paging.inc"

global bump, call_bump, store_watched, after_loop, counter, watched, ticks, spin_store, spin_first, spin_done, slots
global alias_page, alias_next, alias_calls

test_main:
        PRINT   "gdb_target: start", 10
        TIMER_INIT timer_irq, 12             ; about 100 kHz
        call    pg_init
        call    pg_on
        SETPTE  0, PHYS(1) | PTE_PUW
        SETPTE  2, alias_page + PTE_PUW
        xor     eax, eax
.alias: call    aliased
        inc     eax
        cmp     eax, 8
        jb      .alias
        mov     edx, TLIN(2) + (aliased - alias_page)
        call    edx
        mov     dword [TLIN(0) + 0x10], 0x600DBEEF
        sti
        call    spin
        xor     ecx, ecx
call_bump:
        call    bump
        inc     ecx
        cmp     ecx, 10
        jb      call_bump
after_loop:
        cli
        CHECK   "counter", [counter], 55
        CHECK   "watched", [watched], 10
        CHECK   "marker", [PHYS(1) + 0x10], 0x600DBEEF
        PRINT   "ticks at: "
        PRINTHEX 32, [eip_sum]
        PRINT   10
        mov     eax, [ticks]
        cmp     eax, 20
        setae   al
        movzx   eax, al
        CHECK   "ticks.some", eax, 1
        ret

bump:
        push    ebp                     ; a frame gdb can unwind (reverse-finish)
        mov     ebp, esp
        push    eax
        push    edx
        hlt                             ; wait for the next timer tick
        mov     edx, 100                ; then work in long blocks, so that the next
        cli                             ; tick falls inside one; interrupts are enabled
.work:  sti                             ; only inside the blocks, so that a tick waits
%rep 20                                 ; for the end of the loop (an emulator that took
        add     [scratch], edx          ; it where a debugger stopped would be wrong)
%endrep
        cli
        dec     edx
        jnz     .work
        sti
        mov     eax, ecx
        inc     eax
        add     [counter], eax
store_watched:
        mov     [watched], eax
        pop     edx
        pop     eax
        pop     ebp
        ret

spin:
        xor     ecx, ecx
spin_loop:
        mov     edx, ecx
        shr     edx, 14
spin_store:
        mov     [slots + edx * 4], ecx
        cmp     ecx, 0x18000
        jae     spin_next
spin_first:
        add     [scratch], ecx
spin_next:
        inc     ecx
        cmp     ecx, 0x30000
        jb      spin_loop
spin_done:
        ret

timer_irq:
        push    eax
        inc     dword [ticks]
        mov     eax, [esp + 4]          ; where the tick interrupted the guest: the sum
        rol     dword [eip_sum], 5      ; of those places is printed at the end, so a
        add     [eip_sum], eax          ; tick taken elsewhere changes the output
        mov     al, 0x20
        out     0x20, al
        pop     eax
        iret

        align   4096
alias_page:
aliased:
        add     [alias_sum], eax
        jmp     alias_next              ; a direct jump inside the page
alias_next:
        inc     dword [alias_calls]
        ret
        align   4096                    ; (nothing else in the page)

section .data
alias_sum:      dd 0
alias_calls:    dd 0
counter:        dd 0
watched:        dd 0
ticks:          dd 0
scratch:        dd 0
eip_sum:        dd 0
slots:          times 12 dd 0
