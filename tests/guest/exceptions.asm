; exceptions.asm - one or more cases of each exception class, each checked
; for vector, error code and saved EIP (faults: the faulting instruction;
; traps: the next instruction), plus registers unchanged by faulting
; instructions.  #TS is not covered (it needs task switches).

%include "lib/mb32.inc"

SEL_NP          equ 0x30        ; data, not present
SEL_SMALL       equ 0x38        ; data, base 0x200000, limit 0xFFF (bytes)
SEL_XONLY       equ 0x48        ; code, execute-only
SEL_BEYOND      equ 0x100       ; first selector past the GDT limit

%macro FAULT 4-5 ; name, vector, error, instruction, [eip label: default fault]
        TRY     %%resume
%%at:   %4
%%after:
%%resume:
%if %0 == 5
        CHECK_FAULT %1, %2, %3, %%after
%else
        CHECK_FAULT %1, %2, %3, %%at
%endif
%endmacro

test_main:
        PRINT   "exceptions: start", 10
        SETDESC SEL_NP, 0, 0xFFFFF, 0x13, FL_G | FL_DB
        SETDESC SEL_SMALL, 0x200000, 0xFFF, ACC_DATA0, FL_DB
        SETDESC 0x40, 0, 0xFFF, 0x97, FL_DB         ; expand-down, B=1
        SETDESC SEL_XONLY, 0, 0xFFFFF, 0x99, FL_G | FL_DB

; ---- #DE ------------------------------------------------------------------
        mov     eax, 0x11111111
        mov     edx, 0x22222222
        xor     ecx, ecx
        FAULT   "de.div0", 0, 0, {div ecx}
        CHECK   "de.div0.eax_kept", [fault_regs + FR_EAX], 0x11111111
        CHECK   "de.div0.edx_kept", [fault_regs + FR_EDX], 0x22222222
        mov     eax, 0x80000000
        mov     edx, 0xFFFFFFFF
        mov     ecx, -1
        FAULT   "de.idiv_overflow", 0, 0, {idiv ecx}
        CHECK   "de.idiv_overflow.eax_kept", eax, 0x80000000
        mov     ax, 0x1000
        mov     bl, 0x10
        FAULT   "de.div8_overflow", 0, 0, {div bl}
        mov     ax, 0x8000
        mov     bl, 0xFF                ; -32768 / -1 does not fit in AL
        FAULT   "de.idiv8_overflow", 0, 0, {idiv bl}

; ---- #BP, #OF (traps: EIP after the instruction) ---------------------------
        FAULT   "bp.int3", 3, 0, {int3}, after
        FAULT   "bp.int_3", 3, 0, {int 3}, after
        mov     al, 0x7F
        add     al, 1
        FAULT   "of.into", 4, 0, {into}, after
        xor     eax, eax                ; OF=0: INTO does nothing
        mov     dword [fault_vec], 0xFFFFFFFF
        into
        CHECK   "of.into_no_overflow", [fault_vec], 0xFFFFFFFF

; ---- #BR ------------------------------------------------------------------
        mov     dword [bounds], -5
        mov     dword [bounds+4], 5
        mov     eax, 6
        FAULT   "br.above", 5, 0, {bound eax, [bounds]}
        mov     eax, -6
        FAULT   "br.below", 5, 0, {bound eax, [bounds]}
        mov     eax, 5
        mov     dword [fault_vec], 0xFFFFFFFF
        bound   eax, [bounds]
        CHECK   "br.inside", [fault_vec], 0xFFFFFFFF

; ---- #UD ------------------------------------------------------------------
        FAULT   "ud.ud2", 6, 0, {ud2}
        FAULT   "ud.lock_mov", 6, 0, {db 0xF0, 0x89, 0xC3}    ; lock mov ebx, eax
        FAULT   "ud.lock_add_reg", 6, 0, {db 0xF0, 0x01, 0xC3} ; lock add ebx, eax
        mov     dword [scratch], 0
        lock add dword [scratch], 2     ; memory destination: allowed
        CHECK   "ud.lock_add_mem_ok", [scratch], 2
        FAULT   "ud.mov_cs", 6, 0, {db 0x8E, 0xC8}            ; mov cs, ax
        FAULT   "ud.lea_reg", 6, 0, {db 0x8D, 0xC0}           ; lea eax, eax

; ---- #NP ------------------------------------------------------------------
        mov     ax, SEL_NP
        FAULT   "np.mov_ds", 11, SEL_NP, {mov ds, ax}
        mov     eax, ds
        CHECK   "np.ds_unchanged", eax, KDATA
        mov     ax, SEL_NP | 3          ; RPL 3 > DPL 0: #GP comes first
        FAULT   "gp.rpl_before_np", 13, SEL_NP, {mov es, ax}
        FAULT   "gp.int_zero_gate", 13, 0x50 * 8 + 2, {int 0x50}
        SETIDT  0x51, 0, KCODE, 0x0E    ; interrupt gate type, P=0
        FAULT   "np.int_gate", 11, 0x51 * 8 + 2, {int 0x51}

; ---- #SS ------------------------------------------------------------------
        mov     ax, SEL_NP
        FAULT   "ss.not_present", 12, SEL_NP, {mov ss, ax}
        mov     ax, 0x40                ; expand-down: offsets 0x1000.. valid
        mov     ss, ax
        mov     ebp, 0x0800
        mov     eax, 0x5A5A5A5A
        FAULT   "ss.expand_down_below", 12, 0, {mov eax, [ebp]}
        CHECK   "ss.eax_kept", eax, 0x5A5A5A5A
        mov     ebp, 0x0FFE             ; dword 0xFFE..0x1001 straddles
        FAULT   "ss.expand_down_straddle", 12, 0, {mov eax, [ebp]}
        mov     ebp, 0x1000
        mov     eax, [ebp]              ; first valid offset: no fault
        mov     ax, KDATA
        mov     ss, ax

; ---- #GP ------------------------------------------------------------------
        xor     eax, eax
        mov     fs, ax                  ; loading a null selector is fine
        FAULT   "gp.null_fs_use", 13, 0, {mov eax, [fs:0]}
        mov     ax, KDATA
        mov     fs, ax
        xor     eax, eax
        FAULT   "gp.null_ss", 13, 0, {mov ss, ax}
        mov     ax, SEL_BEYOND
        FAULT   "gp.beyond_gdt", 13, SEL_BEYOND, {mov ds, ax}
        mov     ax, 0x04                ; TI=1 with an empty LDT
        FAULT   "gp.ldt_null", 13, 0x04, {mov ds, ax}
        mov     ax, SEL_SMALL
        mov     gs, ax
        FAULT   "gp.limit_dword", 13, 0, {mov eax, [gs:0xFFE]}
        FAULT   "gp.limit_beyond", 13, 0, {mov byte [gs:0x1000], 1}
        mov     al, [gs:0xFFF]          ; last byte: no fault
        mov     ax, KCODE
        mov     gs, ax                  ; readable code may be loaded into GS
        FAULT   "gp.write_code", 13, 0, {mov [gs:scratch], eax}
        mov     eax, [gs:scratch]       ; reading readable code is fine
        mov     ax, SEL_XONLY
        FAULT   "gp.xonly_to_ds", 13, SEL_XONLY, {mov ds, ax}
        mov     ax, KCODE
        FAULT   "gp.code_to_ss", 13, KCODE, {mov ss, ax}
        mov     ax, KDATA
        mov     gs, ax
        FAULT   "gp.jmp_to_data", 13, KDATA, {jmp KDATA:0}
        mov     eax, ring3_hlt
        call    ring3_call

; ---- double fault ---------------------------------------------------------
        ; with the #NP gate not present, a #NP raises a second #NP while it
        ; is delivered: two contributory exceptions give #DF (error code 0).
        ; The saved EIP of #DF is undefined, so only vector and error code.
        mov     byte [idt + 11*8 + 5], 0x0E          ; clear P of vector 11
        mov     ax, SEL_NP
        TRY     .df_resume
        mov     ds, ax
.df_resume:
        mov     dword [ss:fault_resume], 0
        mov     cx, KDATA
        mov     ds, cx
        mov     byte [idt + 11*8 + 5], GATE_INT0     ; restore
        CHECK   "df.vector", [fault_vec], 8
        CHECK   "df.error", [fault_err], 0
        ret

ring3_hlt:
        FAULT   "gp.hlt_cpl3", 13, 0, {hlt}
        mov     eax, [fault_cs]
        CHECK   "gp.hlt_cpl3.cs", eax, UCODE
        RING0_RETURN

section .data
bounds:         dd 0, 0
scratch:        dd 0
