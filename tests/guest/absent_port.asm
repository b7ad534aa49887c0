; absent_port.asm - what Linux does while probing: ports where nothing answers read as
; all ones and take writes without effect, memory where nothing is mapped is read, the
; PC speaker is switched on and off. Normal guest behaviour: popek reports it on the
; -d guest_errors and unimp channels only (tests/guest/log_channels.sh checks that).

%include "lib/mb32.inc"

test_main:
        PRINT   "absent_port: probes of what is not there", 10
        mov     dx, 0x2F9           ; COM2's interrupt enable register: no COM2 here
        in      al, dx
        movzx   eax, al
        CHECK   "in al, 0x2f9", eax, 0xFF
        mov     dx, 0x2FA           ; (wider accesses aligned: QEMU rejects unaligned ones)
        in      ax, dx
        movzx   eax, ax
        CHECK   "in ax, 0x2fa", eax, 0xFFFF
        mov     dx, 0x366           ; a third IDE channel's control register
        mov     al, 0x0A
        out     dx, al
        mov     dx, 0x364
        in      eax, dx
        CHECK   "in eax, 0x364", eax, 0xFFFFFFFF
        ; Above the 32 MiB of RAM (the value is not checked: QEMU's may differ).
        mov     eax, [0x10000000]
        in      al, 0x61            ; speaker on and off again: no sound on popek
        or      al, 0x03
        out     0x61, al
        and     al, 0xFC
        out     0x61, al
        ret
