; paging_ad.asm - accessed and dirty flags of 32-bit paging.
;
; A read sets A in the PDE and the PTE and leaves D clear; a write sets D
; (also when the translation was first used by a read, also for a
; read-modify-write instruction, for CMPXCHG whose comparison fails - its
; destination always gets a write cycle - and for a supervisor write to a
; read-only page with CR0.WP=0); an instruction fetch sets A; a 4 MiB page
; gets A and D in its PDE.  A write that faults (user write to a supervisor
; page, user write to a read-only page, user write to a supervisor 4 MiB
; page) leaves D clear; for the page-level protection fault the PDE's A is
; set (SDM 6.15, interrupt 14); the PTE's A is model specific and not checked.

%include "lib/mb32.inc"
%include "lib/paging.inc"

LIN_BIG         equ 0x01800000          ; PD index 6: 4 MiB page
BIG_PHYS        equ 0x00800000
PDE_TEST        equ PG_PD + TEST_PDI * 4
PDE_BIG         equ PG_PD + (LIN_BIG >> 22) * 4

; ADCHK name, entry (memory), expected A|D bits
%macro ADCHK 3
        mov     eax, %2
        and     eax, PTE_A | PTE_D
        CHECK   %1, eax, %3
%endmacro

test_main:
        PRINT   "paging_ad: start", 10
        call    pg_init
        call    pg_on
        mov     edi, PHYS(0)
        call    pg_zero_page

; ---- read, then write -------------------------------------------------------
        and     dword [PDE_TEST], ~(PTE_A | PTE_D)
        SETPTE  0, PHYS(0) | PTE_PUW            ; A=0, D=0
        ADCHK   "read.before.pte", PTE_OF(0), 0
        mov     eax, [TLIN(0) + 0x10]
        ADCHK   "read.pte_a_only", PTE_OF(0), PTE_A
        mov     eax, [PDE_TEST]
        and     eax, PTE_A
        CHECK   "read.pde_a", eax, PTE_A
        mov     eax, [TLIN(0) + 0x20]           ; more reads: still no D
        mov     eax, [TLIN(0) + 0xFF0]
        ADCHK   "reads.pte_no_d", PTE_OF(0), PTE_A
        mov     dword [TLIN(0) + 0x10], 1       ; translation already used
        ADCHK   "read_then_write.pte_d", PTE_OF(0), PTE_A | PTE_D

        SETPTE  1, PHYS(0) | PTE_PUW
        mov     byte [TLIN(1) + 0x30], 1        ; first access is a write
        ADCHK   "first_write.pte_a_d", PTE_OF(1), PTE_A | PTE_D

        SETPTE  2, PHYS(0) | PTE_PUW
        inc     dword [TLIN(2) + 0x40]          ; read-modify-write
        ADCHK   "rmw.pte_a_d", PTE_OF(2), PTE_A | PTE_D

        SETPTE  3, PHYS(0) | PTE_PUW
        mov     dword [PHYS(0) + 0x50], 7
        mov     eax, 8                          ; compare fails
        mov     ecx, 9
        cmpxchg [TLIN(3) + 0x50], ecx
        CHECK   "cmpxchg_fail.eax", eax, 7
        ADCHK   "cmpxchg_fail.pte_a_d", PTE_OF(3), PTE_A | PTE_D

        SETPTE  4, PHYS(0) | PTE_P              ; supervisor, read-only
        mov     dword [TLIN(4) + 0x60], 1       ; WP=0: allowed
        ADCHK   "wp0_ro_write.pte_a_d", PTE_OF(4), PTE_A | PTE_D

        SETPTE  5, PHYS(1) | PTE_PUW
        mov     byte [PHYS(1)], 0xC3            ; ret
        mov     ecx, TLIN(5)
        call    ecx
        ADCHK   "fetch.pte_a_only", PTE_OF(5), PTE_A

; ---- 4 MiB page ------------------------------------------------------------------
        call    pg_cpuid_edx1
        test    edx, CPUID_PSE
        jnz     .pse
        PRINT   "skip: no PSE", 10
        jmp     .pse_done
.pse:   mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     dword [PDE_BIG], BIG_PHYS | PTE_PS | PTE_PUW
        invlpg  [LIN_BIG]
        mov     eax, [LIN_BIG + 0x123456]
        ADCHK   "pde4m.read_a_only", [PDE_BIG], PTE_A
        mov     dword [LIN_BIG + 0x3FFFFC], eax
        ADCHK   "pde4m.write_a_d", [PDE_BIG], PTE_A | PTE_D
        mov     dword [PDE_BIG], BIG_PHYS | PTE_PS | PTE_P | PTE_W   ; supervisor
        invlpg  [LIN_BIG]
        mov     eax, user_write_big
        call    ring3_call
        mov     eax, [PDE_BIG]
        and     eax, PTE_D
        CHECK   "pde4m.fault.d_clear", eax, 0
.pse_done:

; ---- faulting accesses -----------------------------------------------------------
        and     dword [PDE_TEST], ~PTE_A
        SETPTE  6, PHYS(0) | PTE_P | PTE_W      ; supervisor
        SETPTE  7, PHYS(0) | PTE_P | PTE_U | PTE_A   ; user, read-only
        mov     eax, user_writes
        call    ring3_call
        mov     eax, PTE_OF(6)
        and     eax, PTE_D
        CHECK   "fault_sup.pte_d_clear", eax, 0
        mov     eax, [PDE_TEST]
        and     eax, PTE_A
        CHECK   "fault_sup.pde_a_set", eax, PTE_A
        ADCHK   "fault_ro.pte_a_kept_d_clear", PTE_OF(7), PTE_A
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        PF      "fault_wp1", PF_P | PF_W, {mov dword [TLIN(7)], 0}, TLIN(7)
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        ADCHK   "fault_wp1.pte_a_kept_d_clear", PTE_OF(7), PTE_A

        call    pg_off
        ret

user_writes:
        PF      "fault_sup", PF_U | PF_P | PF_W, {mov dword [TLIN(6) + 4], 0}, TLIN(6) + 4
        PF      "fault_ro", PF_U | PF_P | PF_W, {mov dword [TLIN(7) + 8], 0}, TLIN(7) + 8
        RING0_RETURN

user_write_big:
        PF      "pde4m.fault", PF_U | PF_P | PF_W, {mov dword [LIN_BIG + 0x10], 0}, LIN_BIG + 0x10
        RING0_RETURN
