; spin_loop.asm - a guest that spins in a one-instruction loop with interrupts off.
; tests/guest/host_attention.sh checks that SIGTERM and Ctrl-A x still end popek at once.

%include "lib/mb32.inc"

test_main:
        cli
.spin:  jmp     .spin
