; sensitive.asm - the Popek-Goldberg "sensitive but unprivileged" instructions
; executed at CPL3, and the privileged ones faulting there.
;
; At CPL3: SGDT, SIDT, SLDT, STR, SMSW return the real system state; POPF
; cannot change IF (IOPL=0); LAR/LSL/VERR/VERW see DPL0 descriptors as
; invalid; PUSH CS/SS and MOV from segment registers show RPL 3.  HLT, LGDT,
; LIDT, LLDT, LTR, MOV to/from CR0, MOV from DR7, CLTS, LMSW, INVD, WBINVD,
; INVLPG, RDMSR and WRMSR raise #GP(0).

%include "lib/mb32.inc"

%macro FAULT 4 ; name, vector, error, instruction
        TRY     %%resume
%%at:   %4
%%resume:
        CHECK_FAULT %1, %2, %3, %%at
%endmacro

test_main:
        PRINT   "sensitive: start", 10
        mov     eax, cr0
        mov     [cr0_value], eax
        mov     eax, ring3_main
        call    ring3_call
        ret

ring3_main:
        ; descriptor-table registers
        sgdt    [buf]
        movzx   eax, word [buf]
        CHECK   "sgdt.limit", eax, GDT_ENTRIES * 8 - 1
        CHECK   "sgdt.base", [buf+2], gdt
        sidt    [buf]
        movzx   eax, word [buf]
        CHECK   "sidt.limit", eax, 256 * 8 - 1
        CHECK   "sidt.base", [buf+2], idt
        mov     eax, 0xFFFFFFFF
        sldt    ax
        CHECK   "sldt", eax, 0xFFFF0000
        mov     eax, 0xFFFFFFFF
        str     ax
        CHECK   "str", eax, 0xFFFF0000 | TSS_SEL
        smsw    ax
        movzx   eax, ax
        movzx   ebx, word [cr0_value]
        CHECK   "smsw", eax, ebx
        smsw    [buf]
        movzx   eax, word [buf]
        CHECK   "smsw.mem", eax, ebx

        ; flags
        pushfd
        pop     eax
        and     eax, 0x3200
        CHECK   "pushf.if_iopl", eax, 0
        pushfd
        or      dword [esp], 0x0200
        popfd
        pushfd
        pop     eax
        and     eax, 0x0200
        CHECK   "popf.if_unchanged", eax, 0

        ; segment registers show the CPL
        push    cs
        pop     eax
        and     eax, 0xFFFF
        CHECK   "push_cs", eax, UCODE
        push    ss
        pop     eax
        and     eax, 0xFFFF
        CHECK   "push_ss", eax, UDATA
        xor     eax, eax
        mov     ax, cs
        and     eax, 3
        CHECK   "cpl", eax, 3

        ; descriptor probes see only DPL3 descriptors
        mov     ecx, KCODE
        mov     eax, 0x12345678
        lar     eax, ecx
        setz    bl
        movzx   ebx, bl
        CHECK   "lar.kcode_zf", ebx, 0
        CHECK   "lar.kcode_kept", eax, 0x12345678
        mov     ecx, UCODE
        lar     eax, ecx
        setz    bl
        movzx   ebx, bl
        and     eax, 0x00F0FF00
        CHECK   "lar.ucode_zf", ebx, 1
        CHECK   "lar.ucode", eax, 0x00C0FB00
        mov     ecx, KDATA
        lsl     eax, ecx
        setz    bl
        movzx   ebx, bl
        CHECK   "lsl.kdata_zf", ebx, 0
        mov     ecx, UDATA
        lsl     eax, ecx
        CHECK   "lsl.udata", eax, 0xFFFFFFFF
        mov     cx, KDATA
        verr    cx
        setz    bl
        movzx   ebx, bl
        CHECK   "verr.kdata", ebx, 0
        mov     cx, UDATA
        verw    cx
        setz    bl
        movzx   ebx, bl
        CHECK   "verw.udata", ebx, 1
        mov     cx, KDATA | 3
        verw    cx
        setz    bl
        movzx   ebx, bl
        CHECK   "verw.kdata_rpl3", ebx, 0

        ; privileged instructions
        FAULT   "priv.hlt", 13, 0, {hlt}
        FAULT   "priv.lgdt", 13, 0, {lgdt [buf]}
        FAULT   "priv.lidt", 13, 0, {lidt [buf]}
        xor     eax, eax
        FAULT   "priv.lldt", 13, 0, {lldt ax}
        mov     ax, TSS_SEL
        FAULT   "priv.ltr", 13, 0, {ltr ax}
        mov     eax, 0x12345678
        FAULT   "priv.mov_from_cr0", 13, 0, {mov eax, cr0}
        CHECK   "priv.mov_from_cr0.eax_kept", eax, 0x12345678
        FAULT   "priv.mov_to_cr0", 13, 0, {mov cr0, eax}
        FAULT   "priv.mov_from_dr7", 13, 0, {mov eax, dr7}
        FAULT   "priv.clts", 13, 0, {clts}
        FAULT   "priv.lmsw", 13, 0, {lmsw ax}
        FAULT   "priv.invd", 13, 0, {invd}
        FAULT   "priv.wbinvd", 13, 0, {wbinvd}
        FAULT   "priv.invlpg", 13, 0, {invlpg [buf]}
        mov     ecx, 0x10
        FAULT   "priv.rdmsr", 13, 0, {rdmsr}
        FAULT   "priv.wrmsr", 13, 0, {wrmsr}
        RING0_RETURN

section .data
cr0_value:      dd 0
buf:            times 8 db 0
