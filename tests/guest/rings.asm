; rings.asm - privilege-level transfers.
;
; Ring 0 -> ring 3 by IRET (with DS/ES data segment nulling), ring 3 ->
; ring 0 through a DPL3 interrupt gate and a DPL3 trap gate (TSS SS0:ESP0
; stack switch, pushed SS:ESP/CS/EFLAGS/EIP), a 32-bit call gate with 2
; parameters (copied parameters, RETF 8 back to ring 3), INT n to a DPL0 gate
; (#GP(vector*8+2)), I/O at CPL3 with IOPL=0 through the TSS I/O bitmap
; (only port 0xE9 allowed), CLI/STI at CPL3 (#GP(0)) and POPF at CPL3
; (IF and IOPL silently unchanged).

%include "lib/mb32.inc"

SEL_CGATE       equ 0x30        ; call gate, DPL3, 2 parameters -> cgate_entry
VEC_INT3        equ 0x40        ; DPL3 interrupt gate
VEC_TRAP3       equ 0x41        ; DPL3 trap gate
VEC_INT0        equ 0x42        ; DPL0 interrupt gate

%macro FAULT 4 ; name, vector, error, instruction
        TRY     %%resume
%%at:   %4
%%resume:
        CHECK_FAULT %1, %2, %3, %%at
%endmacro

test_main:
        PRINT   "rings: start", 10
        SETIDT  VEC_INT3, gate_entry, KCODE, GATE_INT3
        SETIDT  VEC_TRAP3, gate_entry, KCODE, GATE_TRAP3
        SETIDT  VEC_INT0, gate_entry, KCODE, GATE_INT0
        SETGATE SEL_CGATE | 3, cgate_entry, KCODE, GATE_CALL3, 2

        ; IRET to ring 3 with ES still holding a DPL0 data selector
        mov     ax, KDATA
        mov     es, ax
        mov     eax, ring3_main
        call    ring3_call_keep_es
        ret

ring3_main:
        mov     eax, cs
        CHECK   "r3.cs", eax, UCODE
        mov     eax, ss
        CHECK   "r3.ss", eax, UDATA
        mov     eax, es
        CHECK   "r3.es_nulled", eax, 0
        mov     eax, ds
        CHECK   "r3.ds_kept", eax, UDATA
        mov     ax, UDATA
        mov     es, ax

        ; interrupt gate and trap gate with a stack switch
%macro GATE_TEST 2
        mov     esi, esp
        stc
        int     %2
%%ret:
        CHECK   {%1, ".eip"}, [frame_eip], %%ret
        CHECK   {%1, ".cs"}, [frame_cs], UCODE
        mov     eax, [frame_eflags]
        and     eax, 0x3201
        CHECK   {%1, ".eflags"}, eax, 0x0001
        CHECK   {%1, ".esp"}, [frame_esp], esi
        CHECK   {%1, ".ss"}, [frame_ss], UDATA
        CHECK   {%1, ".inner_ss"}, [inner_ss], KDATA
        CHECK   {%1, ".inner_esp"}, [inner_esp], tss_stack_top - 20
%endmacro
        GATE_TEST "intgate", VEC_INT3
        GATE_TEST "trapgate", VEC_TRAP3
        FAULT   "int_dpl0_gate", 13, VEC_INT0 * 8 + 2, {int VEC_INT0}

        ; call gate with two parameters
        mov     esi, esp
        push    dword 0x11111111        ; first parameter
        push    dword 0x22222222        ; second parameter
        call    (SEL_CGATE | 3):0
.cg_ret:
        mov     eax, esp
        CHECK   "callgate.esp_after_retf8", eax, esi
        CHECK   "callgate.cs_at_ring0", [cg_cs0], KCODE
        CHECK   "callgate.ret_eip", [cg_eip], .cg_ret
        CHECK   "callgate.ret_cs", [cg_cs], UCODE
        CHECK   "callgate.param_last", [cg_p0], 0x22222222
        CHECK   "callgate.param_first", [cg_p1], 0x11111111
        lea     eax, [esi-8]
        CHECK   "callgate.outer_esp", [cg_esp], eax
        CHECK   "callgate.outer_ss", [cg_ss], UDATA
        CHECK   "callgate.inner_esp", [cg_inner_esp], tss_stack_top - 24

        ; I/O permission bitmap: only port 0xE9
        mov     al, '.'
        out     0xE9, al                ; allowed (prints a dot)
        mov     al, 10
        out     0xE9, al
        PRINT   "io.e9_allowed", 10
        FAULT   "io.out_80", 13, 0, {out 0x80, al}
        FAULT   "io.out_e9_word", 13, 0, {out 0xE9, ax}
        FAULT   "io.in_e8", 13, 0, {in al, 0xE8}
        mov     dx, 0x3F8               ; beyond the bitmap (past the TSS limit)
        FAULT   "io.out_3f8", 13, 0, {out dx, al}
        mov     dx, 0xE9
        mov     al, 'x'
        mov     ecx, 0
        FAULT   "io.cli", 13, 0, {cli}
        FAULT   "io.sti", 13, 0, {sti}

        ; POPF at CPL3, IOPL0: IF and IOPL unchanged, others change
        pushfd
        or      dword [esp], 0x3201 | 0x0400     ; IOPL=3, IF, DF, CF
        popfd
        pushfd
        pop     eax
        cld
        and     eax, 0x3601
        CHECK   "popf.if_iopl_kept_df_cf_set", eax, 0x0401
        mov     eax, [fault_vec]
        RING0_RETURN

gate_entry:
        mov     eax, [esp]
        mov     [ss:frame_eip], eax
        mov     eax, [esp+4]
        mov     [ss:frame_cs], eax
        mov     eax, [esp+8]
        mov     [ss:frame_eflags], eax
        mov     eax, [esp+12]
        mov     [ss:frame_esp], eax
        mov     eax, [esp+16]
        mov     [ss:frame_ss], eax
        mov     [ss:inner_esp], esp
        mov     eax, ss
        mov     [ss:inner_ss], eax
        iretd

cgate_entry:
        mov     eax, cs
        mov     [ss:cg_cs0], eax
        mov     [ss:cg_inner_esp], esp
        mov     eax, [esp]
        mov     [ss:cg_eip], eax
        mov     eax, [esp+4]
        mov     [ss:cg_cs], eax
        mov     eax, [esp+8]
        mov     [ss:cg_p0], eax
        mov     eax, [esp+12]
        mov     [ss:cg_p1], eax
        mov     eax, [esp+16]
        mov     [ss:cg_esp], eax
        mov     eax, [esp+20]
        mov     [ss:cg_ss], eax
        retf    8

section .data
frame_eip:      dd 0
frame_cs:       dd 0
frame_eflags:   dd 0
frame_esp:      dd 0
frame_ss:       dd 0
inner_esp:      dd 0
inner_ss:       dd 0
cg_cs0:         dd 0
cg_inner_esp:   dd 0
cg_eip:         dd 0
cg_cs:          dd 0
cg_p0:          dd 0
cg_p1:          dd 0
cg_esp:         dd 0
cg_ss:          dd 0
