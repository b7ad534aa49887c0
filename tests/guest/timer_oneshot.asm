; timer_oneshot.asm - a one-shot timer programmed while the CPU is busy fires on time.
;
; The PIT's channel 0 first ticks at 100 Hz; HLT waits for a tick. Right after it, with
; the next tick 10 ms away, channel 0 is reprogrammed as a one-shot (mode 0) of 1193
; counts (1 ms) and the CPU spins until IRQ0 comes. The time in between is measured
; on channel 2, free-running in mode 2 at the same 1.193 MHz: it must be at least the
; 1193 counts programmed and, in an emulator whose time is its own, well under 4 ms (a
; timer armed in the middle of the emulator's run of CPU time must end that run at its
; deadline, not at the run's planned end, 8 ms later here).

%include "lib/mb32.inc"
%include "lib/timer.inc"

ONESHOT         equ 1193                ; 1 ms of PIT counts

%macro LATCH_CH2 1 ; -> dword [%1]
        mov     al, 0x80                ; counter latch, channel 2
        out     0x43, al
        in      al, 0x42
        mov     ah, al
        in      al, 0x42
        xchg    al, ah
        movzx   eax, ax
        mov     [%1], eax
%endmacro

test_main:
        PRINT   "timer_oneshot: start", 10
        TIMER_INIT irq0, 11932          ; 100 Hz
        in      al, 0x61                ; channel 2's gate on, the speaker off
        and     al, 0xFC
        or      al, 0x01
        out     0x61, al
        mov     al, 0xB4                ; channel 2, lobyte/hibyte, mode 2, count 65536
        out     0x43, al
        xor     al, al
        out     0x42, al
        out     0x42, al
        sti
        hlt                             ; a tick
        cli
        LATCH_CH2 t_start
        mov     dword [irq_count], 0
        mov     al, 0x30                ; channel 0, lobyte/hibyte, mode 0 (one-shot)
        out     0x43, al
        mov     al, ONESHOT & 0xFF
        out     0x40, al
        mov     al, ONESHOT >> 8
        out     0x40, al                ; counting starts
        sti
.spin:  cmp     dword [irq_count], 0
        je      .spin
        cli
        mov     eax, [t_start]
        sub     eax, [t_irq]
        and     eax, 0xFFFF             ; channel 2 counts down
        xor     ecx, ecx
        cmp     eax, ONESHOT
        setae   cl
        CHECK   "oneshot.not_early", ecx, 1
        xor     ecx, ecx
        cmp     eax, 4 * ONESHOT
        setb    cl
        CHECK   "oneshot.on_time", ecx, 1
        ret

irq0:
        push    eax
        LATCH_CH2 t_irq
        inc     dword [irq_count]
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     eax
        iretd

section .data
t_start:        dd 0
t_irq:          dd 0
irq_count:      dd 0
