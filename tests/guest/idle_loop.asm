; idle_loop.asm - a guest that idles for ever: the PIT interrupts 100 times a second and
; the guest halts between interrupts (run with -icount sleep=on, the host sleeps too).
; tests/guest/host_attention.sh checks that SIGTERM and Ctrl-A x still end popek at once.

%include "lib/mb32.inc"
%include "lib/timer.inc"

test_main:
        TIMER_INIT timer_irq, 11932          ; 100 Hz
        sti
.idle:  hlt
        jmp     .idle

timer_irq:
        push    eax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     eax
        iret
