; vga_modes.asm - a boot sector that draws a known pattern in the VGA's CGA-compatible
; graphics modes and in the EGA 16-colour mode 0Dh, set through INT 10h.
;
; For each mode it draws, says the mode's marker on the debug console (port 0xE9) and
; waits for a key (INT 16h) before the next one, so that a test can take a screen dump
; of each:
;   "4\n"  mode 4: 320x200, 4 colours (CGA, two banks of interleaved scan lines)
;   "5\n"  mode 5: the same with the other palette
;   "6\n"  mode 6: 640x200, 2 colours (CGA banks, one plane)
;   "D\n"  mode 0Dh: 320x200, 16 colours in four planes (half dot clock)
; CGA modes: the byte of scan line y, column c is (y * 3 + c * 5 + (y & 1) * 55h) & 0FFh,
; at B800:(y & 1) * 2000h + (y >> 1) * 80 + c. Mode 0Dh: plane p's byte at row y, column
; c is (y * 3 + c * 5 + p * 33h) & 0FFh at A000:y * 40 + c.
; The guest then idles with interrupts on until the test quits.

bits 16
org 0x7C00

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        cld
        mov     si, modes
.mode:  lodsb
        test    al, al
        jz      .planar
        xor     ah, ah
        int     0x10
        call    cga_pattern
        lodsb
        call    marker
        xor     ah, ah
        int     0x16
        jmp     .mode
.planar:
        mov     ax, 0x000D
        int     0x10
        call    planar_pattern
        mov     al, 'D'
        call    marker
.idle:  hlt
        jmp     .idle

modes:  db      4, '4', 5, '5', 6, '6', 0

; the CGA pattern above, in B800
cga_pattern:
        push    si
        push    es
        mov     ax, 0xB800
        mov     es, ax
        xor     dx, dx                  ; scan line y
.row:   mov     di, dx
        shr     di, 1
        imul    di, di, 80
        test    dl, 1
        jz      .even
        add     di, 0x2000
.even:  xor     cx, cx                  ; column c
.col:   mov     ax, dx
        imul    ax, ax, 3
        mov     bx, cx
        imul    bx, bx, 5
        add     ax, bx
        test    dl, 1
        jz      .store
        add     ax, 0x55
.store: stosb
        inc     cx
        cmp     cx, 80
        jb      .col
        inc     dx
        cmp     dx, 200
        jb      .row
        pop     es
        pop     si
        ret

; mode 0Dh: each plane through the sequencer's map mask, write mode 0 as the BIOS left it
planar_pattern:
        push    es
        mov     ax, 0xA000
        mov     es, ax
        xor     bp, bp                  ; plane p
.plane: mov     dx, 0x3C4
        mov     al, 2
        out     dx, al
        inc     dx
        mov     cx, bp
        mov     al, 1
        shl     al, cl
        out     dx, al
        xor     di, di
        xor     dx, dx                  ; row y
.prow:  xor     cx, cx                  ; column c
.pcol:  mov     ax, dx
        imul    ax, ax, 3
        mov     bx, cx
        imul    bx, bx, 5
        add     ax, bx
        imul    bx, bp, 0x33
        add     ax, bx
        stosb
        inc     cx
        cmp     cx, 40
        jb      .pcol
        inc     dx
        cmp     dx, 200
        jb      .prow
        inc     bp
        cmp     bp, 4
        jb      .plane
        pop     es
        ret

; AL and a newline to the debug console
marker: out     0xE9, al
        mov     al, 10
        out     0xE9, al
        ret

        times 510 - ($ - $$) db 0
        dw      0xAA55
