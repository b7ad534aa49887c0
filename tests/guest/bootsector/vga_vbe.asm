; vga_vbe.asm - a boot sector that sets VBE modes through the VGA BIOS (INT 10h AX=4F02)
; and fills their frame buffers through the 64 KiB window at A000 (AX=4F05 selects the
; bank): the Bochs VBE extension as SeaVGABIOS drives it.
;
; For each mode it fills, says the mode's marker on the debug console (port 0xE9) and
; waits for a key (INT 16h) before the next one:
;   "a\n"  mode 101h: 640x480, 256 colours; the DAC loaded with AX=1012h, entry i =
;           (i & 3Fh, (i >> 2) & 3Fh, 3Fh - (i & 3Fh))
;   "b\n"  mode 111h: 640x480, 16-bit colour (5:6:5)
;   "c\n"  mode 112h: 640x480, 24-bit colour
; A failed call says "!" and the AX it returned. The byte at offset o of bank b is
; (o & 0FFh) XOR (o >> 8) XOR (b * 7). The guest then idles until the test quits.

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
.mode:  lodsw                           ; mode number
        test    ax, ax
        jz      .idle
        mov     bx, ax
        mov     ax, 0x4F02
        int     0x10
        cmp     ax, 0x004F
        jne     .fail
        cmp     bx, 0x101
        jne     .filled_palette
        call    palette
.filled_palette:
        lodsb                           ; banks to fill
        mov     cl, al
        call    fill
        lodsb                           ; marker
        call    marker
        xor     ah, ah
        int     0x16
        jmp     .mode
.fail:  push    ax
        mov     al, '!'
        out     0xE9, al
        pop     ax
        mov     al, ah
        call    marker
.idle:  hlt
        jmp     .idle

modes:  dw      0x101
        db      5, 'a'
        dw      0x111
        db      10, 'b'
        dw      0x112
        db      15, 'c'
        dw      0

; fill CL banks through the window at A000
fill:   push    si
        push    es
        mov     ax, 0xA000
        mov     es, ax
        xor     dx, dx                  ; bank
.bank:  push    cx
        push    dx
        mov     ax, 0x4F05              ; window A to bank DX
        xor     bx, bx
        int     0x10
        pop     dx
        mov     bl, dl                  ; b * 7
        imul    bx, bx, 7
        xor     di, di
.byte:  mov     ax, di
        xor     al, ah
        xor     al, bl
        stosb
        test    di, di
        jnz     .byte
        pop     cx
        inc     dx
        dec     cl
        jnz     .bank
        pop     es
        pop     si
        ret

; the 256-colour palette above, through the VGA BIOS (table at 0000:0800)
palette:
        push    es
        push    ds
        pop     es
        mov     di, 0x800
        xor     cx, cx
.entry: mov     al, cl
        and     al, 0x3F
        stosb
        mov     al, cl
        shr     al, 2
        stosb
        mov     al, cl
        and     al, 0x3F
        neg     al
        add     al, 0x3F
        stosb
        inc     cl
        jnz     .entry
        mov     ax, 0x1012
        xor     bx, bx
        mov     cx, 256
        mov     dx, 0x800
        int     0x10
        pop     es
        ret

; AL and a newline to the debug console
marker: out     0xE9, al
        mov     al, 10
        out     0xE9, al
        ret

        times 510 - ($ - $$) db 0
        dw      0xAA55
