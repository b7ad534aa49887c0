; realmode.asm - real-mode basics in a bare 64 KiB BIOS ROM, then a round trip
; through 32-bit protected mode and back to real mode.
;
; Checks: 16/32-bit arithmetic and flags, segment:offset arithmetic, 16-bit
; offset wraparound, 16-bit and 32-bit addressing forms (BP -> SS), a word
; access at offset 0xFFFF (#GP, interrupt 13), INT n / IRET through an IVT
; built here, exceptions through the IVT (#DE, #BP, #OF, #BR, #UD) with the
; saved IP, far CALL/RET/JMP (direct, indirect, RETF imm), PUSHA/POPA,
; ENTER/LEAVE (nesting levels 0 and 2), string instructions with REP and
; 16-bit address wraparound, then PE=1, 32-bit code, PE=0, real mode again.

%include "lib/rom.inc"
%include "lib/io32.inc"                 ; for the 32-bit part
[bits 16]

DATASEG         equ 0x2000              ; scratch data segment (linear 0x20000)
RM_VEC          equ 0x0510              ; last exception vector (word)
RM_IP           equ 0x0512              ; its saved IP
RM_RESUME       equ 0x0514              ; where its handler resumes
RM_CS           equ 0x0516              ; its saved CS
FARPTR          equ 0x0520              ; scratch far pointer

; RM_TRY resume-label : arm the real-mode exception handlers
%macro RM_TRY 1
        mov     word [ss:RM_RESUME], %1
        mov     word [ss:RM_VEC], 0xFFFF
%endmacro

; RM_CHECK_FAULT "name", vector, expected-IP-label
%macro RM_CHECK_FAULT 3
        CHECKW16 {%1, ".vec"}, [ss:RM_VEC], %2
        CHECKW16 {%1, ".ip"}, [ss:RM_IP], %3
%endmacro

; set_ivt vector, offset (segment F000)
%macro SET_IVT 2
        mov     word [ss:(%1)*4], %2
        mov     word [ss:(%1)*4+2], ROM_SEG
%endmacro

main16:
        PRINT16 "realmode: start", 10
        SET_IVT 0, rm_exc0
        SET_IVT 3, rm_exc3
        SET_IVT 4, rm_exc4
        SET_IVT 5, rm_exc5
        SET_IVT 6, rm_exc6
        SET_IVT 12, rm_exc12
        SET_IVT 13, rm_exc13
        SET_IVT 0x40, int40_handler

; ---- arithmetic -----------------------------------------------------------
        mov     ax, 0x7FFF
        add     ax, 1
        CHECKW16 "add16.result", ax, 0x8000
        CHECKF16 "add16.flags", 0x08C5, 0x0884     ; OF SF PF=1(00) ZF=0 CF=0
        mov     ax, 0
        sub     ax, 1
        CHECKW16 "sub16.result", ax, 0xFFFF
        CHECKF16 "sub16.flags", 0x08C1, 0x0081
        mov     eax, 0xFFFFFFFF
        add     eax, 1
        CHECK16 "add32.result", eax, 0
        CHECKF16 "add32.flags", 0x08C1, 0x0041
        stc
        mov     ax, 0x00FF
        adc     ax, 0x0F00
        CHECKW16 "adc16", ax, 0x1000
        stc
        inc     ax
        CHECKF16 "inc.keeps_cf", 0x0001, 0x0001
        mov     ax, 0x1234
        mov     bx, 0x0100
        mul     bx
        CHECKW16 "mul16.ax", ax, 0x3400
        CHECKW16 "mul16.dx", dx, 0x0012
        CHECKF16 "mul16.cf_of", 0x0801, 0x0801
        mov     dx, 1
        mov     ax, 0
        mov     bx, 2
        div     bx
        CHECKW16 "div16.q", ax, 0x8000
        CHECKW16 "div16.r", dx, 0
        mov     bx, 7
        imul    cx, bx, -3
        CHECKW16 "imul3", cx, 0xFFEB

; ---- segment arithmetic and wraparound ------------------------------------
        mov     ax, DATASEG
        mov     ds, ax
        mov     es, ax
        mov     byte [es:0x0010], 0x5A
        mov     ax, DATASEG + 1
        mov     fs, ax
        mov     al, [fs:0x0000]
        CHECKW16 "seg.alias", ax, (DATASEG + 1) & 0xFF00 | 0x5A
        mov     byte [0x0001], 0xA5
        mov     bx, 0xFFFF
        mov     si, 2
        mov     al, [bx+si]
        CHECKW16 "wrap.bx_si", ax, (DATASEG + 1) & 0xFF00 | 0xA5
        lea     ax, [bx+si]
        CHECKW16 "wrap.lea", ax, 0x0001
        mov     byte [0x0008], 0xC3
        mov     ax, DATASEG + 1
        mov     bx, 0xFFF8
        mov     al, [bx+0x10]
        CHECKW16 "wrap.disp", ax, (DATASEG + 1) & 0xFF00 | 0xC3
        ; a word at offset 0xFFFF crosses the segment limit: interrupt 13
        RM_TRY  .gp_resume
.gp_at: mov     ax, [0xFFFF]
.gp_resume:
        RM_CHECK_FAULT "wrap.word_ffff", 13, .gp_at

; ---- addressing forms -------------------------------------------------------
        mov     word [0x1234], 0x1111
        mov     word [0x1240], 0x2222
        mov     word [0x1300], 0x3333
        mov     word [ss:0x6000], 0x4444    ; stack segment (0000:6000)
        mov     word [0x6000], 0x5555       ; data segment  (2000:6000)
        mov     bx, 0x1200
        mov     si, 0x0030
        mov     di, 0x0040
        mov     ax, [bx+si+4]
        CHECKW16 "addr.bx_si_d8", ax, 0x1111
        mov     ax, [bx+di]
        CHECKW16 "addr.bx_di", ax, 0x2222
        mov     ax, [bx+0x100]
        CHECKW16 "addr.bx_d16", ax, 0x3333
        mov     ax, [si+0x1204]
        CHECKW16 "addr.si_d16", ax, 0x1111
        mov     bp, 0x5FF0
        mov     ax, [bp+0x10]
        CHECKW16 "addr.bp_is_ss", ax, 0x4444
        mov     ax, [ds:bp+0x10]
        CHECKW16 "addr.bp_ds_override", ax, 0x5555
        mov     di, 0x0010
        mov     ax, [bp+di]
        CHECKW16 "addr.bp_di_is_ss", ax, 0x4444
        mov     ax, [0x1300]
        CHECKW16 "addr.direct", ax, 0x3333
        mov     ebx, 0x1000
        mov     ecx, 0x8D
        mov     ax, [ebx+ecx*4]
        CHECKW16 "addr.a32_sib", ax, 0x1111
        mov     ebp, 0x6000
        mov     ax, [ebp]
        CHECKW16 "addr.a32_ebp_is_ss", ax, 0x4444

; ---- INT n / IRET through the IVT -----------------------------------------
        mov     ax, 0
        mov     ds, ax
        stc
        mov     ax, 0x1234
        int     0x40
.int40_ret:
        CHECKW16 "int40.ax", ax, 0x1235
        CHECKW16 "int40.pushed_ip", bx, .int40_ret
        CHECKW16 "int40.pushed_cs", cx, ROM_SEG
        CHECKW16 "int40.pushed_cf", dx, 1
        CHECKF16 "int40.iret_flags", 0x0041, 0x0041   ; handler set ZF in the image
        CHECKW16 "int40.handler_if_tf", si, 0

; ---- exceptions through the IVT -------------------------------------------
        RM_TRY  .de_r
        mov     dx, 0x1234
        mov     ax, 0x5678
        mov     bx, 0
.de_at: div     bx
.de_r:  RM_CHECK_FAULT "de", 0, .de_at
        CHECKW16 "de.ax_unchanged", ax, 0x5678
        RM_TRY  .bp_r
        int3
.bp_after:
        nop
.bp_r:  RM_CHECK_FAULT "bp", 3, .bp_after
        mov     al, 0x7F
        add     al, 1                   ; OF=1
        RM_TRY  .of_r
        into
.of_after:
        nop
.of_r:  RM_CHECK_FAULT "of", 4, .of_after
        mov     word [0x0530], 10
        mov     word [0x0532], 20
        mov     ax, 21
        RM_TRY  .br_r
.br_at: bound   ax, [0x0530]
.br_r:  RM_CHECK_FAULT "br", 5, .br_at
        mov     ax, 20
        bound   ax, [0x0530]            ; in range: no exception
        CHECKW16 "br.inrange", [ss:RM_VEC], 5
        RM_TRY  .ud_r
.ud_at: ud2
.ud_r:  RM_CHECK_FAULT "ud", 6, .ud_at

; ---- far control transfers -------------------------------------------------
        call    (ROM_SEG - 0x100):(farfunc + 0x1000)
        CHECKW16 "callf.cs_in_callee", ax, ROM_SEG - 0x100
        CHECKW16 "callf.ret_cs", bx, ROM_SEG
        movzx   edi, sp
        push    word 0xAAAA
        push    word 0xBBBB
        call    ROM_SEG:farfunc_ret4
        mov     cx, sp
        CHECKW16 "retf4.sp", cx, edi
        CHECKW16 "retf4.arg", ax, 0xAAAA
        mov     word [FARPTR], farfunc
        mov     word [FARPTR+2], ROM_SEG
        call    far [FARPTR]
        CHECKW16 "callf_ind.cs", ax, ROM_SEG
        mov     word [FARPTR], .jmpf_target + 0x10
        mov     word [FARPTR+2], ROM_SEG - 1
        jmp     far [FARPTR]
        PRINT16 "jmpf not taken", 10
        jmp     io16_exit_fail
.jmpf_target:
        mov     ax, cs
        CHECKW16 "jmpf_ind.cs", ax, ROM_SEG - 1
        jmp     ROM_SEG:.jmpf_back
.jmpf_back:
        mov     ax, cs
        CHECKW16 "jmpf_dir.cs", ax, ROM_SEG

; ---- PUSHA / POPA ----------------------------------------------------------
        mov     ax, 0xA0A0
        mov     cx, 0xC1C1
        mov     dx, 0xD2D2
        mov     bx, 0xB3B3
        mov     bp, 0xB5B5
        mov     si, 0x5656
        mov     di, 0xD7D7
        mov     dword [ss:0x0540], 0
        mov     [ss:0x0540], sp
        pusha
        mov     bp, sp
        CHECKW16 "pusha.di", [bp+0], 0xD7D7
        CHECKW16 "pusha.sp", [bp+6], [ss:0x0540]
        CHECKW16 "pusha.ax", [bp+14], 0xA0A0
        mov     word [bp+6], 0x1234     ; POPA ignores the SP image
        xor     ax, ax
        mov     cx, ax
        mov     dx, ax
        mov     bx, ax
        mov     si, ax
        mov     di, ax
        popa
        mov     ax, sp
        CHECKW16 "popa.sp", ax, [ss:0x0540]
        CHECKW16 "popa.bp", bp, 0xB5B5
        CHECKW16 "popa.cx", cx, 0xC1C1

; ---- ENTER / LEAVE ----------------------------------------------------------
        mov     [ss:0x0540], sp         ; (high word still 0)
        mov     bp, 0x1111
        enter   6, 0
        movzx   eax, sp
        add     eax, 8
        CHECK16 "enter0.sp", eax, [ss:0x0540]
        movzx   eax, bp
        add     eax, 2
        CHECK16 "enter0.bp", eax, [ss:0x0540]
        leave
        mov     ax, sp
        CHECKW16 "leave0.sp", ax, [ss:0x0540]
        CHECKW16 "leave0.bp", bp, 0x1111
        mov     word [ss:0x6FFE], 0xCAFE    ; word at [old BP - 2]
        mov     bp, 0x7000
        enter   4, 2
        movzx   eax, word [ss:0x0540]
        sub     eax, 2
        CHECKW16 "enter2.bp", bp, eax
        CHECKW16 "enter2.copied", [bp-2], 0xCAFE
        CHECKW16 "enter2.frame", [bp-4], eax
        sub     eax, 8
        mov     cx, sp
        CHECKW16 "enter2.sp", cx, eax
        leave
        CHECKW16 "leave2.bp", bp, 0x7000
        mov     ax, sp
        CHECKW16 "leave2.sp", ax, [ss:0x0540]

; ---- string instructions, 16-bit addressing --------------------------------
        mov     ax, DATASEG
        mov     es, ax
        mov     ax, ROM_SEG
        mov     ds, ax
        mov     si, str_src
        mov     di, 0x0100
        mov     cx, 5
        cld
        rep movsb
        CHECKW16 "movsb.cx", cx, 0
        CHECKW16 "movsb.si", si, str_src + 5
        CHECKW16 "movsb.di", di, 0x0105
        CHECK16  "movsb.data", [es:0x0100], 'Hell'
        mov     di, 0xFFFE
        mov     al, 0x77
        mov     cx, 4
        rep stosb
        CHECKW16 "stosb_wrap.di", di, 0x0002
        mov     ax, [es:0xFFFE]
        CHECKW16 "stosb_wrap.fffe", ax, 0x7777
        mov     ax, [es:0x0000]
        CHECKW16 "stosb_wrap.0000", ax, 0x7777
        mov     ax, es
        mov     ds, ax
        mov     si, 0x0103
        std
        lodsw
        cld
        CHECKW16 "lodsw_std.ax", ax, 0x6F6C     ; "lo"
        CHECKW16 "lodsw_std.si", si, 0x0101
        xor     ax, ax
        mov     ds, ax

; ---- into protected mode and back -------------------------------------------
        PRINT16 "realmode: to protected mode", 10
        lgdt    [cs:gdt_ptr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     0x08:pm32

[bits 32]
pm32:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, ROM_STACK
        PRINT   "realmode: 32-bit code", 10
        mov     eax, cr0
        and     eax, 1
        CHECK   "pm32.cr0_pe", eax, 1
        mov     eax, [ROM_BASE + str_src]   ; flat data segment reads the ROM
        CHECK   "pm32.flat_read", eax, 'Hell'
        mov     ebx, cs
        CHECK   "pm32.cs", ebx, 0x08
        jmp     0x18:pm16

[bits 16]
pm16:
        mov     ax, 0x20                ; real-mode-like limits for the switch
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     eax, cr0
        and     al, 0xFE
        mov     cr0, eax
        jmp     ROM_SEG:rm_again
rm_again:
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, ROM_STACK
        PRINT16 "realmode: back in real mode", 10
        mov     eax, cr0
        and     eax, 1
        CHECK16 "rm.cr0_pe", eax, 0
        mov     ax, cs
        CHECKW16 "rm.cs", ax, ROM_SEG
        mov     ax, 0x1234
        int     0x40                    ; the IVT works again
        CHECKW16 "rm.int40", ax, 0x1235
        jmp     io16_finish

; ---- handlers and helpers ---------------------------------------------------
; INT 0x40: AX+1; BX,CX,DX = pushed IP, CS, FLAGS.CF; SI = FLAGS.IF|TF inside;
; sets ZF in the pushed FLAGS
int40_handler:
        push    bp
        mov     bp, sp
        inc     ax
        mov     bx, [bp+2]
        mov     cx, [bp+4]
        mov     dx, [bp+6]
        and     dx, 1
        pushf
        pop     si
        and     si, 0x0300
        or      word [bp+6], 0x0040
        pop     bp
        iret

%macro RM_EXC 1
rm_exc%1:
        mov     word [ss:RM_VEC], %1
        jmp     rm_exc_common
%endmacro
        RM_EXC  0
        RM_EXC  3
        RM_EXC  4
        RM_EXC  5
        RM_EXC  6
        RM_EXC  12
        RM_EXC  13

rm_exc_common:
        push    bp
        push    ax
        mov     bp, sp
        mov     ax, [bp+4]
        mov     [ss:RM_IP], ax
        mov     ax, [bp+6]
        mov     [ss:RM_CS], ax
        mov     ax, [ss:RM_RESUME]
        test    ax, ax
        jz      .unexpected
        mov     [bp+4], ax
        mov     word [ss:RM_RESUME], 0
        pop     ax
        pop     bp
        iret
.unexpected:
        PRINT16 "unexpected real-mode exception "
        PRINTHEX16 16, [ss:RM_VEC]
        PRINT16 " at "
        PRINTHEX16 16, [ss:RM_CS]
        PRINT16 ":"
        PRINTHEX16 16, [ss:RM_IP]
        PRINT16 10
        jmp     io16_exit_fail

farfunc:
        mov     ax, cs
        mov     bp, sp
        mov     bx, [bp+2]              ; the caller's CS
        retf

farfunc_ret4:
        push    bp
        mov     bp, sp
        mov     ax, [bp+8]              ; first pushed argument
        pop     bp
        retf    4

str_src:
        db      "Hello, ROM", 0

align 8
gdt:
        dq      0
        dq      0x004F9B0F0000FFFF      ; 0x08 32-bit code, base 0xF0000, limit 0xFFFF
        dq      0x00CF93000000FFFF      ; 0x10 flat data
        dq      0x000F9B0F0000FFFF      ; 0x18 16-bit code, base 0xF0000
        dq      0x000093000000FFFF      ; 0x20 16-bit data, base 0, limit 0xFFFF
gdt_end:
gdt_ptr:
        dw      gdt_end - gdt - 1
        dd      ROM_BASE + gdt

        ROM_END
