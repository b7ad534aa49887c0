; long_rep.asm - a guest that spends minutes in one instruction: REP LODSB over the whole
; 4 GiB address space (the interpreter retires it 4,096 iterations at a time).
; tests/guest/host_attention.sh checks that SIGTERM still ends popek at once.

%include "lib/mb32.inc"

test_main:
        cld
        mov     ecx, 0xFFFFFFFF
        xor     esi, esi
        rep lodsb
        ret
