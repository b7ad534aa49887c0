; vnc_input.asm - a boot sector that reports the keys and mouse packets it gets through
; its BIOS, on the screen and on the debug console (port 0xE9), then shows mode 13h.
;
; Loaded by the BIOS at 0000:7C00 from sector 0 of the first hard disk. Lines on the
; debug console:
;   "T"           text mode 3 is drawn and the mouse is on (INT 15h C2: reset, 3-byte
;                 packets, a handler, enabled); keys are awaited. The cursor is hidden,
;                 so the screen compares exactly
;   "E xx"        the BIOS refused a mouse call (AH = xx); the guest stops
;   "K c"         INT 16h returned the character c, which is also echoed on row 10
;   "M ss xx yy"  the mouse handler got a packet: status, X and Y bytes (hex)
;   "G"           after Return: mode 13h shows pixel (x, y) in colour (x XOR y) & 0FFh
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
        mov     ah, 0x02                ; cursor to row 10, column 0
        xor     bh, bh
        mov     dx, 0x0A00
        int     0x10
        mov     si, keymsg
        call    puts
        ; the pointing device through the BIOS
        mov     ax, 0xC205              ; initialise: 3-byte packets
        mov     bh, 3
        int     0x15
        jc      mouse_error
        mov     ax, 0xC207              ; the handler, ES:BX
        mov     bx, mouse_handler
        int     0x15
        jc      mouse_error
        mov     ax, 0xC200              ; enable
        mov     bh, 1
        int     0x15
        jc      mouse_error
        mov     al, 'T'
        call    outc
        call    newline
.key:   xor     ah, ah                  ; wait for a key (the BIOS halts in between)
        int     0x16
        cmp     al, 13
        je      graphics
        push    ax
        mov     ah, 0x0E                ; echo on the screen
        xor     bh, bh
        int     0x10
        mov     al, 'K'
        call    outc
        call    space
        pop     ax
        call    outc
        call    newline
        jmp     .key

graphics:
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
        call    outc
        call    newline
.idle:  hlt
        jmp     .idle

mouse_error:
        mov     al, 'E'
        call    outc
        call    space
        mov     al, ah
        call    hex
        call    newline
        cli
        hlt

; The BIOS calls this far for each packet with status, X, Y and 0 pushed in that order.
mouse_handler:
        push    bp
        mov     bp, sp
        pusha
        mov     al, 'M'
        call    outc
        mov     al, [bp + 12]           ; status
        call    space_hex
        mov     al, [bp + 10]           ; X
        call    space_hex
        mov     al, [bp + 8]            ; Y
        call    space_hex
        call    newline
        popa
        pop     bp
        retf

; teletype output of the NUL-terminated string at DS:SI
puts:   lodsb
        test    al, al
        jz      .done
        mov     ah, 0x0E
        xor     bh, bh
        int     0x10
        jmp     puts
.done:  ret

space_hex:
        push    ax
        call    space
        pop     ax
; AL as two hex digits on the debug console
hex:    push    ax
        shr     al, 4
        call    .digit
        pop     ax
        and     al, 0x0F
.digit: add     al, '0'
        cmp     al, '9'
        jbe     outc
        add     al, 'A' - '9' - 1
; AL to the debug console
outc:   out     0xE9, al
        ret
space:  mov     al, ' '
        jmp     outc
newline:
        mov     al, 10
        jmp     outc

banner: db      "popek VNC test", 13, 10, "Keys and the mouse through the BIOS", 13, 10, 0
keymsg: db      "keys: ", 0

        times 510 - ($ - $$) db 0
        dw      0xAA55
