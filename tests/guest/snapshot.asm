; snapshot.asm - a guest whose output depends on the instruction at which every
; interrupt lands: the PIT (about 1.2 kHz) and the RTC's periodic interrupt (1024 Hz)
; interrupt a loop that counts, steps an LCG and sums on the x87; at each PIT tick the
; guest prints the tick count, the loop count the interrupt saw and the RTC ticks, and
; it halts now and then (idle time skipped to the next event). A data breakpoint (DR0,
; DR7) on the variable the loop writes at each tick counts its #DB traps. After 48 ticks
; it prints the sums and exits. tests/guest/snapshot.sh saves a snapshot in the middle of this
; (-savevm-at), restores it (-loadvm) and checks that the rest of the output and the
; final state hash are the uninterrupted run's, on both engines and across them.

%include "lib/mb32.inc"

TICKS   equ 48

section .text
test_main:
        SETIDT  0x20, timer_irq, KCODE, GATE_INT0
        SETIDT  0x28, rtc_irq, KCODE, GATE_INT0
        SETIDT  0x01, db_trap, KCODE, GATE_INT0
        mov     eax, printed            ; DR0: a data breakpoint on writes of `printed`
        mov     dr0, eax
        mov     eax, 0x000D0001         ; DR7: L0, RW0 = write, LEN0 = 4 bytes
        mov     dr7, eax
        mov     al, 0x11                ; both PICs: ICW1 (edge, cascade, ICW4)
        out     0x20, al
        out     0xA0, al
        mov     al, 0x20                ; ICW2: IRQ0-7 at 20h, IRQ8-15 at 28h
        out     0x21, al
        mov     al, 0x28
        out     0xA1, al
        mov     al, 0x04                ; ICW3: slave on IRQ2
        out     0x21, al
        mov     al, 0x02
        out     0xA1, al
        mov     al, 0x01                ; ICW4: 8086 mode
        out     0x21, al
        out     0xA1, al
        mov     al, 0xFA                ; master: IRQ0 and the cascade
        out     0x21, al
        mov     al, 0xFE                ; slave: IRQ8
        out     0xA1, al
        mov     al, 0x34                ; PIT channel 0, lobyte/hibyte, mode 2
        out     0x43, al
        mov     al, 0xE8                ; 1000 (3E8h): about 1.19 kHz
        out     0x40, al
        mov     al, 0x03
        out     0x40, al
        mov     al, 0x0B                ; RTC register B: periodic interrupt, 24 h
        out     0x70, al
        mov     al, 0x42
        out     0x71, al
        fninit
        fldz
        fstp    qword [facc]
        sti
.loop:
        mov     eax, [lcg]
        imul    eax, eax, 1103515245
        add     eax, 12345
        mov     [lcg], eax
        inc     dword [work]
        fild    dword [work]
        fadd    qword [facc]
        fstp    qword [facc]
        mov     eax, [ticks]
        cmp     eax, [printed]
        je      .loop
        mov     [printed], eax
        PRINT   "t="
        PRINTHEX 32, eax
        PRINT   " w="
        PRINTHEX 32, [work_at_tick]
        PRINT   " r="
        PRINTHEX 32, [rtc_ticks]
        PRINT   " d="
        PRINTHEX 32, [db_hits]
        PRINT   10
        test    eax, 3                  ; every fourth tick: wait for the next interrupt
        jnz     .no_halt
        hlt
.no_halt:
        cmp     eax, TICKS
        jb      .loop
        cli
        fld     qword [facc]
        fistp   qword [fint]
        PRINT   "lcg="
        PRINTHEX 32, [lcg]
        PRINT   " sum="
        PRINTHEX 32, [fint + 4]
        PRINTHEX 32, [fint]
        PRINT   10
        ret

timer_irq:
        push    eax
        inc     dword [ticks]
        mov     eax, [work]
        mov     [work_at_tick], eax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     eax
        iret

db_trap:
        push    eax
        inc     dword [db_hits]
        xor     eax, eax                ; DR6 keeps its bits until software clears them
        mov     dr6, eax
        pop     eax
        iret

rtc_irq:
        push    eax
        mov     al, 0x0C                ; reading register C acknowledges the RTC
        out     0x70, al
        in      al, 0x71
        inc     dword [rtc_ticks]
        mov     al, 0x20                ; EOI to the slave, then the master
        out     0xA0, al
        out     0x20, al
        pop     eax
        iret

section .data
align 8
facc:           dq 0
fint:           dq 0
lcg:            dd 1
work:           dd 0
work_at_tick:   dd 0
ticks:          dd 0
printed:        dd 0
rtc_ticks:      dd 0
db_hits:        dd 0
