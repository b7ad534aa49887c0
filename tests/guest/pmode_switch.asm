; pmode_switch.asm - from real mode at reset into protected mode (BIOS ROM).
;
; LGDT with a GDT in the ROM, CR0.PE, far jump into a 16-bit protected-mode
; code segment (base 0xF0000), operand- and address-size prefixes there,
; a data segment with a non-zero base, an o32 far jump into a 32-bit code
; segment, prefixes in 32-bit code (o16 data, a16 addressing and its 16-bit
; wraparound), SGDT/SMSW, and a 32-bit far CALL into the 16-bit segment
; returning with an o32 RETF.  Then back to real mode through a 16-bit code segment in
; RAM (a copy of this ROM at 0x70000): there a write through a CS override works, as
; GRUB does around every BIOS call (no type checks in real mode, whatever the
; descriptor cache holds from protected mode).  Exits from 32-bit code.

%include "lib/rom.inc"
%include "lib/io32.inc"
[bits 16]

SEL_CODE32      equ 0x08
SEL_FLAT        equ 0x10
SEL_CODE16      equ 0x18
SEL_DATA2       equ 0x20                ; base 0x20000, limit 0xFFFF, 16-bit
SEL_CODE16_RAM  equ 0x28                ; 16-bit code, base 0x70000 (the ROM's copy)
RAM_COPY        equ 0x70000

main16:
        PRINT16 "pmode_switch: real mode", 10
        smsw    ax
        and     ax, 1
        CHECKW16 "rm.msw_pe", ax, 0
        lgdt    [cs:gdt_ptr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     SEL_CODE16:pm16

pm16:   ; 16-bit protected mode, CS base 0xF0000
        mov     ax, SEL_FLAT
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, ROM_STACK
        PRINT16 "pmode_switch: 16-bit protected mode", 10
        mov     ax, cs
        CHECKW16 "pm16.cs", ax, SEL_CODE16
        smsw    ax
        and     ax, 1
        CHECKW16 "pm16.msw_pe", ax, 1
        mov     eax, 0x12345678         ; o32 immediate
        CHECK16 "pm16.o32_imm", eax, 0x12345678
        mov     edx, esp
        push    eax                     ; o32 push: 4 bytes
        sub     edx, esp
        pop     eax
        CHECK16 "pm16.o32_push", edx, 4
        mov     edx, esp
        push    ax                      ; 2 bytes
        sub     edx, esp
        pop     ax
        CHECK16 "pm16.o16_push", edx, 2
        mov     edx, esp
        call    .near16
        CHECK16 "pm16.call_pushes", edi, 2
        mov     dword [dword 0x20010], 0xCAFEF00D   ; a32 absolute
        mov     ax, SEL_DATA2
        mov     fs, ax
        mov     eax, [fs:0x0010]
        CHECK16 "pm16.data_base", eax, 0xCAFEF00D
        mov     ebx, 0x20000
        mov     ecx, 4
        mov     eax, [ebx+ecx*4]        ; a32 addressing in 16-bit code
        CHECK16 "pm16.a32_sib", eax, 0xCAFEF00D
        jmp     dword SEL_CODE32:pm32
.near16:
        mov     edi, edx
        sub     edi, esp
        ret

[bits 32]
pm32:
        PRINT   "pmode_switch: 32-bit protected mode", 10
        mov     eax, cs
        CHECK   "pm32.cs", eax, SEL_CODE32
        mov     eax, 0xFFFFFFFF
        mov     ax, 0x1234              ; o16: upper half kept
        CHECK   "pm32.o16_mov", eax, 0xFFFF1234
        mov     edx, esp
        push    ax                      ; o16 push: 2 bytes
        sub     edx, esp
        pop     ax
        CHECK   "pm32.o16_push", edx, 2
        mov     edx, esp
        call    .near32
        CHECK   "pm32.call_pushes", edi, 4
        mov     ebx, 0x1234FFF0
        mov     esi, 0x00000020
        lea     eax, [bx+si+0x10]       ; a16: wraps to 16 bits
        CHECK   "pm32.a16_lea_wrap", eax, 0x00000020
        mov     ax, SEL_DATA2
        mov     fs, ax
        mov     ebx, 0x0008
        mov     esi, 0x0008
        mov     eax, [fs:bx+si]         ; a16 addressing
        CHECK   "pm32.a16_load", eax, 0xCAFEF00D
        sgdt    [0x0600]
        movzx   eax, word [0x0600]
        CHECK   "pm32.sgdt_limit", eax, gdt_end - gdt - 1
        mov     eax, [0x0602]
        CHECK   "pm32.sgdt_base", eax, ROM_BASE + gdt
        mov     ecx, 0x1111
        call    SEL_CODE16:func16       ; 32-bit far call into 16-bit code
        CHECK   "pm32.callf16.cx", ecx, 0x2222
        CHECK   "pm32.callf16.cs_pushed", edx, SEL_CODE32
        mov     eax, cs
        CHECK   "pm32.callf16.back", eax, SEL_CODE32
        ; back to real mode, through the ROM's copy in RAM
        mov     esi, ROM_BASE
        mov     edi, RAM_COPY
        mov     ecx, 0x10000 / 4
        cld
        rep movsd
        jmp     SEL_CODE16_RAM:to_real
.near32:
        mov     edi, edx
        sub     edi, esp
        ret

[bits 16]
to_real:        ; 16-bit protected mode, CS base 0x70000 (code, execute/read)
        mov     eax, cr0
        and     al, 0xFE
        mov     cr0, eax
        jmp     RAM_COPY >> 4:in_real
in_real:        ; real mode: CS's cache still says "code" from protected mode
        PRINT16 "pmode_switch: back in real mode", 10
        mov     eax, 0x5A5A1234
        mov     [cs:rm_var], eax
        mov     ebx, [cs:rm_var]
        CHECK16 "rm_again.cs_override_write", ebx, 0x5A5A1234
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword SEL_CODE32:finish32
rm_var: dd      0

[bits 32]
finish32:
        jmp     io_finish

[bits 16]
func16:
        mov     cx, 0x2222
        mov     edx, [esp+4]            ; the caller's CS (o32 call frame)
        o32 retf

align 8
gdt:
        dq      0
        dq      0x004F9B0F0000FFFF      ; 0x08 32-bit code, base 0xF0000, limit 0xFFFF
        dq      0x00CF93000000FFFF      ; 0x10 flat data
        dq      0x000F9B0F0000FFFF      ; 0x18 16-bit code, base 0xF0000
        dq      0x000093020000FFFF      ; 0x20 16-bit data, base 0x20000
        dq      0x000F9B070000FFFF      ; 0x28 16-bit code, base 0x70000
gdt_end:
gdt_ptr:
        dw      gdt_end - gdt - 1
        dd      ROM_BASE + gdt

        ROM_END
