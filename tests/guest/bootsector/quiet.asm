; quiet.asm - a boot sector that leaves the screen as the BIOS left it: it says "I" on
; the debug console (port 0xE9) and idles with interrupts on. A test then finds the
; firmware's own text (its banner, "Booting from Hard Disk...") on the VGA.

bits 16
org 0x7C00

start:
        mov     al, 'I'
        out     0xE9, al
        mov     al, 10
        out     0xE9, al
        sti
.idle:  hlt
        jmp     .idle

        times 510 - ($ - $$) db 0
        dw      0xAA55
