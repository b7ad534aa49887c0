; serial_echo.asm - a guest whose run depends on host input and its timing: the PIT
; interrupts 1000 times a second (the handler counts ticks), COM1's input is echoed back
; to COM1, and every byte is mixed into a checksum with the tick count at which it
; arrived; the RTC's time at start goes in too. A '!' is followed by a spin of two
; million instructions (work between two inputs, for reverse debugging's checkpoints:
; tests/guest/gdb_rr.sh). A 'q' ends the run: the checksum, the ticks and the bytes
; count go to the debug console. Record/replay's test (tests/guest/record_replay.sh)
; feeds it bytes at host-chosen times, records, replays and compares.

%include "lib/mb32.inc"
%include "lib/timer.inc"

COM1    equ     0x3F8

test_main:
        TIMER_INIT timer_irq, 1193           ; 1 kHz
        ; COM1: 115200 8N1, FIFO on
        mov     dx, COM1 + 3
        mov     al, 0x80
        out     dx, al
        mov     dx, COM1
        mov     al, 1
        out     dx, al
        inc     dx
        xor     al, al
        out     dx, al
        mov     dx, COM1 + 3
        mov     al, 0x03
        out     dx, al
        mov     dx, COM1 + 2
        mov     al, 0x07
        out     dx, al
        ; the RTC's seconds, minutes and hours start the checksum
        xor     ebx, ebx
        xor     ecx, ecx
.rtc:   mov     al, cl
        out     0x70, al
        in      al, 0x71
        shl     ebx, 8
        mov     bl, al
        add     cl, 2
        cmp     cl, 6
        jb      .rtc
        mov     [rtc_time], ebx
        mov     [sum], ebx
        PRINT   "rtc "
        PRINTHEX 32, ebx
        PRINT   10
        sti
.wait:  mov     dx, COM1 + 5
        in      al, dx
        test    al, 1
        jnz     .got
        hlt
        jmp     .wait
.got:   mov     dx, COM1
        in      al, dx
        movzx   ebx, al
        ; echo
        mov     dx, COM1 + 5
.thr:   in      al, dx
        test    al, 0x20
        jz      .thr
        mov     dx, COM1
        mov     al, bl
        out     dx, al
        ; sum = sum * 31 + byte + 65536 * ticks
        mov     eax, [sum]
        imul    eax, eax, 31
        add     eax, ebx
        mov     ecx, [ticks]
        shl     ecx, 16
        add     eax, ecx
        mov     [sum], eax
        inc     dword [count]
.counted:                               ; (gdb_rr.sh: a watch on count stops here)
        cmp     bl, '!'
        jne     .quit
        mov     ecx, 1000000
.spin:  dec     ecx
        jnz     .spin
.quit:  cmp     bl, 'q'
        jne     .wait
        cli
        PRINT   10, "bytes "
        PRINTHEX 32, [count]
        PRINT   10, "sum "
        PRINTHEX 32, [sum]
        PRINT   10
        ret

timer_irq:
        inc     dword [ticks]
        push    eax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     eax
        iret

section .data
ticks:  dd      0
sum:    dd      0
count:  dd      0
rtc_time: dd    0
