; vga_text.asm - a boot sector that draws on the VGA through its BIOS and directly,
; reads keys through INT 16h, then draws a pattern in mode 13h.
;
; Loaded by the BIOS at 0000:7C00 from sector 0 of the first hard disk. Each stage
; ends with a marker on the debug console (port 0xE9) so that a test knows when to
; take a screen dump or send keys:
;   "T\n"   text mode 3 is drawn (teletype text, direct writes, colours, line
;           graphics, "key: " on row 12) and the guest waits for a key; the cursor is
;           hidden, so the screen compares exactly
;   "K\n"   a key was read and echoed (row 12: "key: " and the character); the
;           character comes first on a line of its own
;   "G\n"   mode 13h shows the pattern: pixel (x, y) has colour (x XOR y) & 0FFh
; The guest then idles with interrupts on until the test quits.

bits 16
org 0x7C00

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        cld
        mov     ax, 0x0003              ; mode 3: 80x25 text, clears the screen
        int     0x10
        mov     ah, 0x01                ; cursor off
        mov     cx, 0x2000
        int     0x10
        mov     si, banner
        call    puts
        ; direct writes to B800:0000, row 5, yellow on blue
        push    es
        mov     ax, 0xB800
        mov     es, ax
        mov     di, (5 * 80 + 10) * 2
        mov     si, direct
        mov     ah, 0x1E
.direct:
        lodsb
        test    al, al
        jz      .colours
        stosw
        jmp     .direct
.colours:
        ; row 7: the 16 colours as foreground of DBh, the 8 background colours under
        ; C4h (line graphics: the ninth dot repeats the eighth). No blinking attribute
        ; and no background above 7: with blinking enabled they blink, and QEMU draws
        ; them as bright backgrounds instead.
        mov     di, (7 * 80 + 10) * 2
        xor     bx, bx
.colour:
        mov     ah, bl                  ; DBh in foreground colour k
        mov     al, 0xDB
        stosw
        mov     ah, bl                  ; C4h, white on background k mod 8
        and     ah, 7
        shl     ah, 4
        or      ah, 0x0F
        mov     al, 0xC4
        stosw
        inc     bl
        cmp     bl, 16
        jb      .colour
        pop     es
        ; row 12 asks for a key; the marker comes last, when only the key is awaited
        mov     ah, 0x02                ; cursor to row 12, column 0
        xor     bh, bh
        mov     dx, 0x0C00
        int     0x10
        mov     si, keymsg
        call    puts
        mov     al, 'T'
        call    marker
        xor     ah, ah
        int     0x16
        mov     ah, 0x0E
        xor     bh, bh
        int     0x10
        call    marker                  ; the character read
        mov     al, 'K'
        call    marker
        xor     ah, ah                  ; another key: on to mode 13h
        int     0x16
        mov     ax, 0x0013
        int     0x10
        push    es
        mov     ax, 0xA000
        mov     es, ax
        xor     di, di
        xor     dx, dx
.row:   xor     cx, cx
.pixel: mov     al, cl
        xor     al, dl
        stosb
        inc     cx
        cmp     cx, 320
        jb      .pixel
        inc     dx
        cmp     dx, 200
        jb      .row
        pop     es
        mov     al, 'G'
        call    marker
.idle:  hlt
        jmp     .idle

; teletype output of the NUL-terminated string at DS:SI
puts:   lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0E
        xor     bh, bh
        int     0x10
        jmp     puts
.done:  ret

; AL and a newline to the debug console
marker: out     0xE9, al
        mov     al, 10
        out     0xE9, al
        ret

banner: db      "popek VGA test", 13, 10, "BIOS teletype: Hello, world!", 13, 10, 0
direct: db      "direct to B800", 0
keymsg: db      "key: ", 0

        times 510 - ($ - $$) db 0
        dw      0xAA55
