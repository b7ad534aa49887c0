; reset_loop.asm - a guest that triple-faults at once: with no IDT, INT3 raises #GP,
; then #DF, then the shutdown that resets the machine; popek boots it again, and again.
; tests/guest/host_attention.sh checks that SIGTERM still ends popek at once.

%include "lib/mb32.inc"

test_main:
        lidt    [null_idt]
        int3
        ret

null_idt:
        dw      0
        dd      0
