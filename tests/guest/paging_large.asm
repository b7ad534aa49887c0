; paging_large.asm - large pages, PAE paging and the NX bit.
;
; 32-bit paging with CR4.PSE: 4 MiB pages mapping physical regions at other
; linear addresses (first and last dword of the page, a write seen through
; the identity map, a window onto physical 0), user/read-only rights of a
; 4 MiB page at CPL 3, and with CR4.PSE=0 a PDE whose PS bit is set still
; references a page table.
;
; If CPUID reports PAE: PAE paging with a PDPT at a 32-byte (not 4 KiB)
; aligned CR3, 64-bit entries, 4 KiB pages (first and last PTE of a table)
; and 2 MiB pages, a not-present PDPTE, reserved bits (bit 51 of a PTE, bit
; 13 of a 2 MiB PDE: RSVD page faults) and a PDPTE with a reserved bit
; (MOV to CR3 raises #GP(0), CR3 unchanged).
; If CPUID also reports NX: with EFER.NXE=1, XD=1 in a PTE, in a PDE that
; references a page table, or in a 2 MiB PDE lets data be read but makes an
; instruction fetch fault with I/D=1 (also at CPL 3), a fetch from a
; not-present page has I/D=1 too; with EFER.NXE=0 XD is a reserved bit
; (RSVD fault, I/D=0 even for a fetch); back in 32-bit paging with NXE=1 a
; fetch fault has I/D=0.

%include "lib/mb32.inc"
%include "lib/paging.inc"

BIG_PHYS        equ 0x00800000
LIN_BIG         equ 0x01800000          ; PD 6 -> 4 MiB at 0x800000
LIN_BIG2        equ 0x01C00000          ; PD 7 -> 4 MiB at 0xC00000
LIN_LOW         equ 0x02000000          ; PD 8 -> 4 MiB at 0
LIN_NOPSE       equ 0x02400000          ; PD 9: PS=1 while CR4.PSE=0

; PAE structures
PDPT            equ SCRATCH(1) + 0x20   ; 32-byte aligned, not page aligned
PDPT_BAD        equ SCRATCH(1) + 0x40
PAE_PD0         equ SCRATCH(2)          ; 0..1 GiB: identity 0..16 MiB
PAE_PD1         equ SCRATCH(3)          ; 1..2 GiB: test mappings
PAE_PT0         equ SCRATCH(4)          ; identity 0..2 MiB
PAE_PT1         equ SCRATCH(5)          ; 0x40000000..0x401FFFFF
PAE_PT2         equ SCRATCH(6)          ; 0x40600000..: under an XD PDE
PAE_WIN         equ 0x40000000
%define PLIN(n) (PAE_WIN + (n) * 0x1000)
PLIN_2M         equ 0x40200000          ; PD1[1]: 2 MiB at 0x800000
PLIN_2M_RSVD    equ 0x40400000          ; PD1[2]: 2 MiB with bit 13 set
PLIN_XDPDE      equ 0x40600000          ; PD1[3]: XD=1, -> PAE_PT2
PLIN_2M_XD      equ 0x40800000          ; PD1[4]: 2 MiB XD at 0xA00000
PLIN_NOPDPTE    equ 0x80000000          ; PDPT[2] not present
XD_HI           equ 0x80000000          ; bit 63 in the high dword

; PAE entry: SET64 address, low, high
%macro SET64 3
        mov     dword [%1], %2
        mov     dword [%1 + 4], %3
%endmacro

; CODE_AT phys : "mov eax, 0x600DC0DE ; ret" at phys
%macro CODE_AT 1
        mov     dword [%1], 0x0DC0DEB8
        mov     word [%1 + 4], 0xC360
%endmacro

test_main:
        PRINT   "paging_large: start", 10
        call    pg_init
        call    pg_cpuid_edx1
        mov     [cpuid1_edx], edx
        test    edx, CPUID_PSE
        jnz     .pse
        PRINT   "skip: no PSE", 10
        jmp     .pae
.pse:   call    pse_tests
.pae:   test    dword [cpuid1_edx], CPUID_PAE
        jnz     .pae_on
        PRINT   "skip: no PAE", 10
        ret
.pae_on:
        call    pae_tests
        ret

; ---- 32-bit paging, 4 MiB pages ------------------------------------------------
pse_tests:
        mov     dword [BIG_PHYS + 0x1234], 0xB1600001
        mov     dword [BIG_PHYS + 0x3FFFFC], 0xB1600002
        mov     dword [BIG_PHYS + 0x400010], 0xB1600003
        mov     dword [PHYS(0) + 0x10], 0xB1600004
        mov     dword [window_var], 0xB1600007
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], BIG_PHYS | PTE_PS | PTE_PUW
        mov     dword [PG_PD + (LIN_BIG2 >> 22) * 4], (BIG_PHYS + 0x400000) | PTE_PS | PTE_P | PTE_U
        mov     dword [PG_PD + (LIN_LOW >> 22) * 4], PTE_PS | PTE_P | PTE_W
        mov     dword [PG_PD + (LIN_NOPSE >> 22) * 4], SCRATCH(0) | PTE_PS | PTE_PUW
        mov     edi, SCRATCH(0)
        call    pg_zero_page
        mov     dword [SCRATCH(0)], PHYS(0) | PTE_PUW
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        call    pg_on
        CHECK   "pse.first_dword", [LIN_BIG + 0x1234], 0xB1600001
        CHECK   "pse.last_dword", [LIN_BIG + 0x3FFFFC], 0xB1600002
        CHECK   "pse.second_page", [LIN_BIG2 + 0x10], 0xB1600003
        mov     dword [LIN_BIG + 0x2ABCD0], 0xB1600005
        CHECK   "pse.write_seen_at_phys", [BIG_PHYS + 0x2ABCD0], 0xB1600005
        CHECK   "pse.window_on_phys0", [LIN_LOW + window_var], 0xB1600007
        mov     dword [LIN_LOW + window_var + 4], 0xB1600006
        CHECK   "pse.window_write", [window_var + 4], 0xB1600006
        mov     eax, user_pse
        call    ring3_call
        ; CR4.PSE=0: the PS bit is ignored, the PDE references a page table
        mov     eax, cr4
        and     eax, ~CR4_PSE
        mov     cr4, eax
        mov     eax, cr3
        mov     cr3, eax
        CHECK   "nopse.ps_ignored", [LIN_NOPSE + 0x10], 0xB1600004
        PF      "nopse.np_via_table", 0, {mov eax, [LIN_NOPSE + 0x1000]}, LIN_NOPSE + 0x1000
        call    pg_off
        ret

user_pse:
        CHECK   "pse.user_read_ro", [LIN_BIG2 + 0x10], 0xB1600003
        PF      "pse.user_write_ro", PF_U | PF_P | PF_W, {mov dword [LIN_BIG2 + 0x20], 0}, LIN_BIG2 + 0x20
        PF      "pse.user_read_sup", PF_U | PF_P, {mov eax, [LIN_LOW + 0x3FFFF0]}, LIN_LOW + 0x3FFFF0
        RING0_RETURN

; ---- PAE paging -------------------------------------------------------------------
pae_tests:
        ; zero the structures
        mov     edi, SCRATCH(1)
        call    pg_zero_page
        mov     edi, PAE_PD0
        call    pg_zero_page
        mov     edi, PAE_PD1
        call    pg_zero_page
        mov     edi, PAE_PT1
        call    pg_zero_page
        mov     edi, PAE_PT2
        call    pg_zero_page
        ; PDPT: PD0, PD1, not present, not present
        SET64   PDPT + 0, PAE_PD0 | PTE_P, 0
        SET64   PDPT + 8, PAE_PD1 | PTE_P, 0
        ; a PDPT whose last entry has a reserved bit (R/W)
        SET64   PDPT_BAD + 0, PAE_PD0 | PTE_P, 0
        SET64   PDPT_BAD + 8, PAE_PD1 | PTE_P, 0
        SET64   PDPT_BAD + 24, PAE_PD1 | PTE_P | PTE_W, 0
        ; PD0: PT0 for 0..2 MiB, 2 MiB pages for 2..16 MiB
        SET64   PAE_PD0, PAE_PT0 | PTE_PUW, 0
        mov     edi, PAE_PD0 + 8
        mov     eax, 0x200000 | PTE_PS | PTE_PUW
.pd0:   mov     [edi], eax
        mov     dword [edi + 4], 0
        add     edi, 8
        add     eax, 0x200000
        cmp     eax, 0x1000000
        jb      .pd0
        mov     edi, PAE_PT0
        mov     eax, PTE_PUW
.pt0:   mov     [edi], eax
        mov     dword [edi + 4], 0
        add     edi, 8
        add     eax, 0x1000
        cmp     eax, 0x200000
        jb      .pt0
        ; PD1: PT1, 2 MiB page, 2 MiB page with a reserved bit, XD PDE, XD 2 MiB
        SET64   PAE_PD1 + 0, PAE_PT1 | PTE_PUW, 0
        SET64   PAE_PD1 + 8, BIG_PHYS | PTE_PS | PTE_PUW, 0
        SET64   PAE_PD1 + 16, (BIG_PHYS + 0x400000) | PTE_PS | PTE_PUW | (1 << 13), 0
        SET64   PAE_PD1 + 24, PAE_PT2 | PTE_PUW, XD_HI
        SET64   PAE_PD1 + 32, (BIG_PHYS + 0x200000) | PTE_PS | PTE_PUW, XD_HI
        ; PT1: 0 -> PHYS(1), 1 -> PHYS(2) with bit 51, 2 -> PHYS(3) code XD,
        ;      3 -> PHYS(3) code, 4 -> not present, 511 -> PHYS(2)
        SET64   PAE_PT1 + 0 * 8, PHYS(1) | PTE_PUW, 0
        SET64   PAE_PT1 + 1 * 8, PHYS(2) | PTE_PUW, 1 << (51 - 32)
        SET64   PAE_PT1 + 2 * 8, PHYS(3) | PTE_PUW, XD_HI
        SET64   PAE_PT1 + 3 * 8, PHYS(3) | PTE_PUW, 0
        SET64   PAE_PT1 + 511 * 8, PHYS(2) | PTE_PUW, 0
        SET64   PAE_PT2 + 0, PHYS(3) | PTE_PUW, 0
        ; data
        mov     dword [PHYS(1) + 0x10], 0xAE000001
        mov     dword [PHYS(2) + 0xFFC], 0xAE000002
        mov     dword [BIG_PHYS + 0x1234], 0xAE000003
        mov     dword [BIG_PHYS + 0x1FFFFC], 0xAE000004
        mov     dword [PHYS(0) + 0x10], 0xAE000005
        CODE_AT PHYS(3)
        CODE_AT BIG_PHYS + 0x200000

        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        call    pg_on
        mov     eax, cr3
        CHECK   "pae.cr3", eax, PDPT
        CHECK   "pae.identity_2m", [PHYS(0) + 0x10], 0xAE000005
        CHECK   "pae.pte_first", [PLIN(0) + 0x10], 0xAE000001
        CHECK   "pae.pte_last", [PLIN(511) + 0xFFC], 0xAE000002
        mov     dword [PLIN(0) + 0x14], 0xAE000006
        CHECK   "pae.write_seen_at_phys", [PHYS(1) + 0x14], 0xAE000006
        CHECK   "pae.2m_first", [PLIN_2M + 0x1234], 0xAE000003
        CHECK   "pae.2m_last", [PLIN_2M + 0x1FFFFC], 0xAE000004
        PF      "pae.np_pte", 0, {mov eax, [PLIN(4) + 8]}, PLIN(4) + 8
        PF      "pae.np_pdpte", PF_W, {mov dword [PLIN_NOPDPTE + 0x20], 0}, PLIN_NOPDPTE + 0x20
        PF      "pae.rsvd_pte_bit51", PF_P | PF_RSVD, {mov eax, [PLIN(1)]}, PLIN(1)
        PF      "pae.rsvd_2m_bit13", PF_P | PF_RSVD | PF_W, {mov dword [PLIN_2M_RSVD + 4], 0}, PLIN_2M_RSVD + 4
        ; a reserved bit in a PDPTE: MOV to CR3 raises #GP(0)
        mov     eax, PDPT_BAD
        TRY     .gp_done
.gp_at: mov     cr3, eax
.gp_done:
        CHECK_FAULT "pae.pdpte_rsvd_gp", 13, 0, .gp_at
        mov     eax, cr3
        mov     ecx, PDPT
        mov     cr3, ecx                        ; in case it was loaded
        CHECK   "pae.pdpte_rsvd.cr3_kept", eax, PDPT

        call    pg_has_nx
        jc      .nx
        PRINT   "skip: no NX", 10
        jmp     .nx_done
.nx:    call    nx_tests
.nx_done:
        call    pg_off
        mov     eax, cr4
        and     eax, ~CR4_PAE
        mov     cr4, eax
        ret

; ---- NX -------------------------------------------------------------------------
nx_tests:
        ; EFER.NXE=0: XD is a reserved bit
        PF      "nxe0.xd_read_rsvd", PF_P | PF_RSVD, {mov eax, [PLIN(2)]}, PLIN(2)
        PF_AT   "nxe0.xd_fetch_rsvd", PF_P | PF_RSVD, {jmp PLIN(2)}, PLIN(2), PLIN(2)
        PF      "nxe0.xd_pde_rsvd", PF_P | PF_RSVD, {mov eax, [PLIN_2M_XD]}, PLIN_2M_XD
        PF_AT   "nxe0.fetch_np", 0, {jmp PLIN(4)}, PLIN(4), PLIN(4)
        ; EFER.NXE=1
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_NXE
        wrmsr
        mov     eax, cr3
        mov     cr3, eax
        CHECK   "nx.xd_data_read", [PLIN(2)], 0x0DC0DEB8
        mov     dword [PLIN(2) + 8], 0xAE000007
        CHECK   "nx.xd_data_write", [PHYS(3) + 8], 0xAE000007
        xor     eax, eax
        mov     ecx, PLIN(3)
        call    ecx
        CHECK   "nx.exec_without_xd", eax, 0x600DC0DE
        PF_AT   "nx.fetch_xd_pte", PF_P | PF_ID, {jmp PLIN(2)}, PLIN(2), PLIN(2)
        PF_AT   "nx.fetch_xd_pde", PF_P | PF_ID, {jmp PLIN_XDPDE}, PLIN_XDPDE, PLIN_XDPDE
        CHECK   "nx.xd_pde_data_read", [PLIN_XDPDE], 0x0DC0DEB8
        PF_AT   "nx.fetch_xd_2m", PF_P | PF_ID, {jmp PLIN_2M_XD}, PLIN_2M_XD, PLIN_2M_XD
        PF_AT   "nx.fetch_np", PF_ID, {jmp PLIN(4)}, PLIN(4), PLIN(4)
        PF      "nx.read_np", 0, {mov eax, [PLIN(4)]}, PLIN(4)
        mov     eax, user_nx
        call    ring3_call
        ; 32-bit paging with NXE=1: no XD bit, no I/D in the error code
        call    pg_off
        mov     eax, cr4
        and     eax, ~CR4_PAE
        mov     cr4, eax
        mov     eax, PG_PD
        mov     cr3, eax
        call    pg_on
        SETPTE  3, 0
        PF_AT   "nx.legacy_fetch_np", 0, {jmp TLIN(3)}, TLIN(3), TLIN(3)
        call    pg_off
        mov     ecx, MSR_EFER
        rdmsr
        and     eax, ~EFER_NXE
        wrmsr
        ret

user_nx:
        PF_AT   "nx.user_fetch_xd", PF_U | PF_P | PF_ID, {jmp PLIN(2)}, PLIN(2), PLIN(2)
        PF_AT   "nx.user_fetch_np", PF_U | PF_ID, {jmp PLIN(4)}, PLIN(4), PLIN(4)
        xor     eax, eax
        mov     ecx, PLIN(3)
        call    ecx
        CHECK   "nx.user_exec_without_xd", eax, 0x600DC0DE
        RING0_RETURN

section .data
cpuid1_edx:     dd 0
window_var:     dd 0, 0
