; idle_loop.asm - a guest that idles for ever: the PIT interrupts 100 times a second and
; the guest halts between interrupts (run with -icount sleep=on, the host sleeps too).
; tests/guest/host_attention.sh checks that SIGTERM and Ctrl-A x still end popek at once.

%include "lib/mb32.inc"

test_main:
        SETIDT  0x20, timer_irq, KCODE, GATE_INT0
        mov     al, 0x11                ; PIC: ICW1 (edge, cascade, ICW4 follows)
        out     0x20, al
        mov     al, 0x20                ; ICW2: IRQ0 is vector 20h
        out     0x21, al
        mov     al, 0x04                ; ICW3: slave on IRQ2
        out     0x21, al
        mov     al, 0x01                ; ICW4: 8086 mode
        out     0x21, al
        mov     al, 0xFE                ; only IRQ0 unmasked
        out     0x21, al
        mov     al, 0x34                ; PIT channel 0, lobyte/hibyte, mode 2
        out     0x43, al
        mov     al, 0x9C                ; 1193182 / 100 = 11932 = 2E9Ch
        out     0x40, al
        mov     al, 0x2E
        out     0x40, al
        sti
.idle:  hlt
        jmp     .idle

timer_irq:
        push    eax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     eax
        iret
