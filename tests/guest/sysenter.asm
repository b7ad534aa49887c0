; sysenter.asm - SYSENTER and SYSEXIT (fast system calls).
;
; CPUID.1:EDX.SEP is set.  With IA32_SYSENTER_CS null both instructions
; #GP(0).  With IA32_SYSENTER_CS = 0x0B (RPL bits ignored): from ring 3,
; SYSENTER enters CPL 0 at IA32_SYSENTER_EIP with CS = 0x08, SS = 0x10,
; ESP = IA32_SYSENTER_ESP, the data segment registers and CF untouched; there
; SYSEXIT returns to CPL 3 at EDX with CS = 0x1B, SS = 0x23, ESP = ECX and
; the flags untouched; SYSEXIT at CPL 3 is #GP(0).  SYSENTER at CPL 0 clears
; IF (STI just before it), and SYSENTER from virtual-8086 mode enters
; protected mode at CPL 0 with VM clear (the entry runs CPL-0 instructions).

%include "lib/mb32.inc"

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
CPUID_SEP        equ 1 << 11

V86_SEG         equ 0x2000              ; the v86 routine runs at 2000:0000
V86_LIN         equ V86_SEG * 16
V86_SS          equ 0x3000
V86_SP          equ 0xFFF0

%macro WRMSR32 2 ; msr, value
        mov     ecx, %1
        mov     eax, %2
        xor     edx, edx
        wrmsr
%endmacro

%macro FAULT 4 ; name, vector, error, instruction
        TRY     %%resume
%%at:   %4
%%resume:
        CHECK_FAULT %1, %2, %3, %%at
%endmacro

test_main:
        PRINT   "sysenter: start", 10
        mov     eax, 1
        cpuid
        and     edx, CPUID_SEP
        CHECK   "cpuid.sep", edx, CPUID_SEP

        ; a null IA32_SYSENTER_CS
        WRMSR32 MSR_SYSENTER_CS, 0
        FAULT   "sysenter.null_cs", 13, 0, {sysenter}
        FAULT   "sysexit.null_cs", 13, 0, {sysexit}
        WRMSR32 MSR_SYSENTER_CS, KCODE | 3
        WRMSR32 MSR_SYSENTER_ESP, sys_stack_top

        ; SYSENTER at CPL 0 right after STI: IF is clear at the entry
        WRMSR32 MSR_SYSENTER_EIP, entry0
        mov     [saved_esp], esp
        sti
        sysenter
        PRINT   "FAIL sysenter.cpl0 fell through", 10
        jmp     .cpl0_done
.cpl0_back:
        mov     eax, [e0_flags]
        and     eax, 0x200
        CHECK   "cpl0.if_cleared", eax, 0
        CHECK   "cpl0.cs", [e0_cs], KCODE
        CHECK   "cpl0.ss", [e0_ss], KDATA
        CHECK   "cpl0.esp", [e0_esp], sys_stack_top
.cpl0_done:

        ; ring 3 -> SYSENTER -> ring 0 -> SYSEXIT -> ring 3
        WRMSR32 MSR_SYSENTER_EIP, entry3
        mov     eax, ring3_main
        call    ring3_call
        mov     eax, [e3_flags]
        and     eax, 0x201
        CHECK   "r3.sysenter.flags_cf_kept_if_clear", eax, 1
        CHECK   "r3.sysenter.cs", [e3_cs], KCODE
        CHECK   "r3.sysenter.ss", [e3_ss], KDATA
        CHECK   "r3.sysenter.esp", [e3_esp], sys_stack_top
        CHECK   "r3.sysenter.ds_kept", [e3_ds], UDATA
        CHECK   "r3.sysenter.ebp_kept", [e3_ebp], [r3_esp]
        CHECK   "r3.sysexit.cs", [x3_cs], UCODE
        CHECK   "r3.sysexit.ss", [x3_ss], UDATA
        CHECK   "r3.sysexit.esp", [x3_esp], [r3_esp]
        mov     eax, [x3_flags]
        and     eax, 1
        CHECK   "r3.sysexit.cf_kept", eax, 1

        ; SYSENTER from virtual-8086 mode
        mov     dword [V86_LIN], 0x00340FFB     ; sti; sysenter
        call    run_v86_sysenter
        mov     eax, [v_flags]
        and     eax, 0x200
        CHECK   "v86.if_cleared", eax, 0
        CHECK   "v86.cs", [v_cs], KCODE
        CHECK   "v86.ss", [v_ss], KDATA
        CHECK   "v86.cr0_read_at_cpl0", [v_cr0_ok], 1

        ; only RPL bits: still a null selector (last: QEMU tests the whole MSR)
        WRMSR32 MSR_SYSENTER_CS, 3
        WRMSR32 MSR_SYSENTER_ESP, sys_stack_top
        WRMSR32 MSR_SYSENTER_EIP, rpl_only_entered
        mov     [saved_esp], esp
        FAULT   "sysenter.rpl_only_cs", 13, 0, {sysenter}
        ret

rpl_only_entered:
        mov     ax, KDATA
        mov     ds, ax
        mov     ss, ax
        mov     esp, [saved_esp]
        mov     dword [fault_resume], 0
        PRINT   "FAIL sysenter.rpl_only_cs: entered with CS 0", 10
        inc     dword [fail_count]
        ret

; SYSENTER at CPL 0 lands here (IA32_SYSENTER_EIP = entry0)
entry0:
        pushfd
        pop     dword [e0_flags]
        mov     eax, cs
        mov     [e0_cs], eax
        mov     eax, ss
        mov     [e0_ss], eax
        mov     [e0_esp], esp
        mov     esp, [saved_esp]
        jmp     test_main.cpl0_back

ring3_main:
        mov     ebp, esp
        mov     [r3_esp], esp
        stc
        sysenter
        PRINT   "FAIL r3.sysenter fell through", 10
        RING0_RETURN
.back:
        pushfd
        pop     dword [x3_flags]
        mov     eax, cs
        mov     [x3_cs], eax
        mov     eax, ss
        mov     [x3_ss], eax
        mov     [x3_esp], esp
        FAULT   "r3.sysexit_at_cpl3", 13, 0, {sysexit}
        RING0_RETURN

; SYSENTER from ring 3 lands here, at CPL 0 on sys_stack_top
entry3:
        pushfd
        pop     dword [e3_flags]
        mov     eax, cs
        mov     [e3_cs], eax
        mov     eax, ss
        mov     [e3_ss], eax
        mov     [e3_esp], esp
        mov     eax, ds
        mov     [e3_ds], eax
        mov     [e3_ebp], ebp
        mov     ecx, ebp                ; ESP and EIP of ring 3
        mov     edx, ring3_main.back
        stc
        sysexit

; Enter virtual-8086 mode at V86_SEG:0 (STI; SYSENTER) with IOPL 3; the
; SYSENTER lands at v86_entry on this very stack and returns to the caller.
run_v86_sysenter:
        pushad
        push    fs
        push    gs
        mov     eax, esp
        mov     ecx, MSR_SYSENTER_ESP
        xor     edx, edx
        wrmsr
        WRMSR32 MSR_SYSENTER_EIP, v86_entry
        push    dword 0                 ; GS
        push    dword 0                 ; FS
        push    dword V86_SEG           ; DS
        push    dword V86_SEG           ; ES
        push    dword V86_SS
        push    dword V86_SP
        push    dword 0x00023002        ; VM, IOPL 3, IF clear
        push    dword V86_SEG           ; CS
        push    dword 0                 ; IP
        iretd

v86_entry:
        mov     ax, KDATA
        mov     ds, ax
        mov     es, ax
        pushfd
        pop     dword [v_flags]
        mov     eax, cs
        mov     [v_cs], eax
        mov     eax, ss
        mov     [v_ss], eax
        mov     eax, cr0                ; #GP unless at CPL 0 outside v86 mode
        mov     dword [v_cr0_ok], 1
        pop     gs
        pop     fs
        popad
        ret

section .data
align 4
saved_esp:      dd 0
e0_flags:       dd 0
e0_cs:          dd 0
e0_ss:          dd 0
e0_esp:         dd 0
r3_esp:         dd 0
e3_flags:       dd 0
e3_cs:          dd 0
e3_ss:          dd 0
e3_esp:         dd 0
e3_ds:          dd 0
e3_ebp:         dd 0
x3_flags:       dd 0
x3_cs:          dd 0
x3_ss:          dd 0
x3_esp:         dd 0
v_flags:        dd 0
v_cs:           dd 0
v_ss:           dd 0
v_cr0_ok:       dd 0
align 16
                times 1024 db 0
sys_stack_top:
