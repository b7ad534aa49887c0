; paging.asm - 32-bit paging with 4 KiB pages: turning paging on over an
; identity map, a non-identity mapping with two linear pages aliasing one
; physical page, and the page-fault error code and CR2 of each kind of
; fault: not present (PTE and PDE, read/write, CPL 0 and 3), user access to
; a supervisor page (PTE or PDE U=0), user write to a read-only page (PTE or
; PDE R/W=0), supervisor write to a read-only page with CR0.WP=0 (allowed)
; and WP=1 (#PF), a reserved bit in a 4 MiB PDE (RSVD), instruction fetches
; (no I/D bit without PAE+NXE), and accesses and instructions straddling
; two pages where only one of them is not present or read-only.
;
; Test window pages (TLIN(n) = PTE n of the test table):
;   0,1 -> PHYS(1) (aliases)   2 -> PHYS(2)        3 -> not present
;   4   -> not present with all other bits set     5 -> PHYS(4) supervisor
;   6   -> PHYS(3) user, read-only                 7,8 -> PHYS(5), PHYS(6)
;   9   -> PHYS(7) user, read-only, code

%include "lib/mb32.inc"
%include "lib/paging.inc"

LIN_NOPDE       equ 0x01400000          ; PD index 5: not present
LIN_BIG         equ 0x01800000          ; PD index 6: 4 MiB page
BIG_PHYS        equ 0x00800000
PDE_RSVD21      equ 1 << 21             ; reserved in every 4 MiB PDE

test_main:
        PRINT   "paging: start", 10
        mov     dword [PHYS(0) + 0x10], 0x1D3A7171
        call    pg_init
        call    pg_on
        mov     eax, cr0
        and     eax, CR0_PG | 1
        CHECK   "on.cr0_pg_pe", eax, CR0_PG | 1
        CHECK   "on.identity_read", [PHYS(0) + 0x10], 0x1D3A7171
        mov     eax, cr3
        CHECK   "on.cr3", eax, PG_PD

; ---- non-identity mapping, two linear pages on one physical page ----------
        mov     edi, PHYS(1)
        call    pg_zero_page
        mov     edi, PHYS(2)
        mov     eax, 0x22222222
        call    pg_fill_page
        SETPTE  0, PHYS(1) | PTE_PUW
        SETPTE  1, PHYS(1) | PTE_PUW
        SETPTE  2, PHYS(2) | PTE_PUW
        mov     dword [TLIN(0) + 0x344], 0xCAFEF00D
        CHECK   "map.alias_sees_write", [TLIN(1) + 0x344], 0xCAFEF00D
        CHECK   "map.phys_sees_write", [PHYS(1) + 0x344], 0xCAFEF00D
        mov     dword [TLIN(1) + 0x348], 0x0BADF00D
        CHECK   "map.alias_back", [TLIN(0) + 0x348], 0x0BADF00D
        CHECK   "map.other_page", [TLIN(2) + 0x344], 0x22222222
        mov     dword [PHYS(1) + 0xFFC], 0x76543210
        CHECK   "map.page_end", [TLIN(1) + 0xFFC], 0x76543210

; ---- not present -----------------------------------------------------------
        SETPTE  3, 0
        SETPTE  4, 0xFFFFFFFE           ; P=0: every other bit is ignored
        mov     eax, 0x5A5A5A5A
        PF      "np.read", 0, {mov eax, [TLIN(3) + 0x123]}, TLIN(3) + 0x123
        CHECK   "np.read.eax_kept", eax, 0x5A5A5A5A
        PF      "np.write", PF_W, {mov dword [TLIN(3) + 0x456], 1}, TLIN(3) + 0x456
        PF      "np.junk_bits_no_rsvd", 0, {mov eax, [TLIN(4) + 8]}, TLIN(4) + 8
        PF      "np.pde_read", 0, {mov eax, [LIN_NOPDE + 0x10]}, LIN_NOPDE + 0x10
        PF      "np.pde_write", PF_W, {mov byte [LIN_NOPDE + 0x1234], 1}, LIN_NOPDE + 0x1234

; ---- CPL 3 -------------------------------------------------------------------
        mov     edi, PHYS(3)
        mov     eax, 0x33333333
        call    pg_fill_page
        mov     edi, PHYS(4)
        mov     eax, 0x44444444
        call    pg_fill_page
        SETPTE  5, PHYS(4) | PTE_P | PTE_W          ; supervisor
        SETPTE  6, PHYS(3) | PTE_P | PTE_U          ; user, read-only
        mov     eax, user_main
        call    ring3_call

        ; U=0 / R/W=0 in the PDE only (the PTE allows everything)
        and     dword [PG_PD + TEST_PDI * 4], ~PTE_U
        invlpg  [TLIN(0)]
        mov     eax, user_pde_sup
        call    ring3_call
        or      dword [PG_PD + TEST_PDI * 4], PTE_U
        and     dword [PG_PD + TEST_PDI * 4], ~PTE_W
        invlpg  [TLIN(0)]
        mov     eax, user_pde_ro
        call    ring3_call
        or      dword [PG_PD + TEST_PDI * 4], PTE_W
        invlpg  [TLIN(0)]

; ---- CR0.WP --------------------------------------------------------------------
        SETPTE  10, PHYS(3) | PTE_P                 ; supervisor, read-only
        mov     dword [TLIN(6) + 0x50], 0x600D0001  ; WP=0: allowed
        CHECK   "wp0.write_user_ro", [PHYS(3) + 0x50], 0x600D0001
        mov     dword [TLIN(10) + 0x54], 0x600D0002
        CHECK   "wp0.write_sup_ro", [PHYS(3) + 0x54], 0x600D0002
        mov     eax, cr0                            ; no INVLPG: WP applies
        or      eax, CR0_WP                         ; to cached translations
        mov     cr0, eax
        PF      "wp1.write_user_ro", PF_P | PF_W, {mov dword [TLIN(6) + 0x50], 1}, TLIN(6) + 0x50
        CHECK   "wp1.user_ro_unchanged", [PHYS(3) + 0x50], 0x600D0001
        PF      "wp1.write_sup_ro", PF_P | PF_W, {mov dword [TLIN(10) + 0x54], 2}, TLIN(10) + 0x54
        CHECK   "wp1.sup_ro_unchanged", [PHYS(3) + 0x54], 0x600D0002
        CHECK   "wp1.read_ro", [TLIN(10) + 0x54], 0x600D0002
        mov     dword [TLIN(5) + 0x58], 0x600D0003  ; writable: still fine
        CHECK   "wp1.write_rw", [PHYS(4) + 0x58], 0x600D0003
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        mov     dword [TLIN(6) + 0x50], 0x600D0004
        CHECK   "wp0.again_allowed", [PHYS(3) + 0x50], 0x600D0004

; ---- reserved bit in a 4 MiB PDE -------------------------------------------
        call    pg_cpuid_edx1
        test    edx, CPUID_PSE
        jnz     .pse
        PRINT   "skip: no PSE", 10
        jmp     .pse_done
.pse:   mov     dword [BIG_PHYS + 0x100], 0xB16B16
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], BIG_PHYS | PTE_PS | PTE_PUW | PDE_RSVD21
        invlpg  [LIN_BIG]
        PF      "rsvd.pde4m_read", PF_P | PF_RSVD, {mov eax, [LIN_BIG + 0x100]}, LIN_BIG + 0x100
        PF      "rsvd.pde4m_write", PF_P | PF_RSVD | PF_W, {mov dword [LIN_BIG + 0x104], 0}, LIN_BIG + 0x104
        mov     eax, user_rsvd
        call    ring3_call
        and     dword [PG_PD + (LIN_BIG >> 22) * 4], ~PDE_RSVD21
        invlpg  [LIN_BIG]
        CHECK   "rsvd.cleared_read", [LIN_BIG + 0x100], 0xB16B16
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], 0
        invlpg  [LIN_BIG]
        mov     eax, cr4
        and     eax, ~CR4_PSE
        mov     cr4, eax
.pse_done:

; ---- instruction fetch ---------------------------------------------------------
        PF_AT   "fetch.np", 0, {jmp TLIN(3) + 0x10}, TLIN(3) + 0x10, TLIN(3) + 0x10
        mov     dword [PHYS(7)], 0x0DC0DEB8         ; mov eax, 0x600DC0DE
        mov     word [PHYS(7) + 4], 0xC360          ; ret
        SETPTE  9, PHYS(7) | PTE_P | PTE_U
        xor     eax, eax
        mov     ecx, TLIN(9)
        call    ecx                                 ; CPL 0 runs a user page
        CHECK   "fetch.sup_runs_user_ro_page", eax, 0x600DC0DE
        mov     eax, user_fetch
        call    ring3_call

; ---- accesses straddling two pages ---------------------------------------------
        mov     edi, PHYS(5)
        mov     eax, 0xAAAAAAAA
        call    pg_fill_page
        mov     edi, PHYS(6)
        mov     eax, 0xBBBBBBBB
        call    pg_fill_page
        SETPTE  7, PHYS(5) | PTE_PUW
        SETPTE  8, 0
        PF      "straddle.write_np2", PF_W, {mov dword [TLIN(7) + 0xFFE], 0x11223344}, TLIN(8)
        CHECK   "straddle.write_np2.page1_kept", [PHYS(5) + 0xFFC], 0xAAAAAAAA
        mov     eax, 0x5A5A5A5A
        PF      "straddle.read_np2", 0, {mov eax, [TLIN(7) + 0xFFD]}, TLIN(8)
        CHECK   "straddle.read_np2.eax_kept", eax, 0x5A5A5A5A
        PF      "straddle.word_np2", PF_W, {mov word [TLIN(7) + 0xFFF], 0x5566}, TLIN(8)
        CHECK   "straddle.word_np2.page1_kept", [PHYS(5) + 0xFFC], 0xAAAAAAAA
        SETPTE  8, PHYS(6) | PTE_PUW
        SETPTE  7, 0
        PF      "straddle.read_np1", 0, {mov eax, [TLIN(7) + 0xFFE]}, TLIN(7) + 0xFFE
        SETPTE  7, PHYS(5) | PTE_PUW
        mov     eax, [TLIN(7) + 0xFFE]
        CHECK   "straddle.read_ok", eax, 0xBBBBAAAA
        SETPTE  8, PHYS(6) | PTE_P                  ; read-only, WP=1
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        PF      "straddle.write_ro2", PF_P | PF_W, {mov dword [TLIN(7) + 0xFFE], 0x12345678}, TLIN(8)
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        CHECK   "straddle.write_ro2.page1_kept", [PHYS(5) + 0xFFC], 0xAAAAAAAA
        CHECK   "straddle.write_ro2.page2_kept", [PHYS(6)], 0xBBBBBBBB
        ; an instruction split over two pages: B8 78 56 | 34 12, then C3
        mov     dword [PHYS(5) + 0xFFC], 0x5678B890
        mov     dword [PHYS(6)], 0xC31234
        SETPTE  8, 0
        PF_AT   "straddle.fetch_np2", 0, {jmp TLIN(7) + 0xFFD}, TLIN(8), TLIN(7) + 0xFFD
        SETPTE  8, PHYS(6) | PTE_P
        xor     eax, eax
        mov     ecx, TLIN(7) + 0xFFD
        call    ecx
        CHECK   "straddle.fetch_ok", eax, 0x12345678

        call    pg_off
        ret

; ---- CPL 3 parts -------------------------------------------------------------
user_main:
        PF      "user.np_read", PF_U, {mov eax, [TLIN(3)]}, TLIN(3)
        PF      "user.np_write", PF_U | PF_W, {mov [TLIN(3) + 4], eax}, TLIN(3) + 4
        PF      "user.sup_read", PF_U | PF_P, {mov eax, [TLIN(5) + 0x10]}, TLIN(5) + 0x10
        PF      "user.sup_write", PF_U | PF_P | PF_W, {mov dword [TLIN(5) + 0x20], 0}, TLIN(5) + 0x20
        CHECK   "user.sup_write.kept", [PHYS(4) + 0x20], 0x44444444
        CHECK   "user.ro_read", [TLIN(6) + 0x30], 0x33333333
        PF      "user.ro_write", PF_U | PF_P | PF_W, {mov dword [TLIN(6) + 0x30], 0}, TLIN(6) + 0x30
        CHECK   "user.ro_write.kept", [PHYS(3) + 0x30], 0x33333333
        mov     dword [TLIN(0) + 0x40], 0x12121212
        CHECK   "user.rw_write", [TLIN(1) + 0x40], 0x12121212
        mov     eax, [fault_cs]
        CHECK   "user.fault_cs", eax, UCODE
        RING0_RETURN

user_pde_sup:
        PF      "user.pde_sup_read", PF_U | PF_P, {mov eax, [TLIN(0)]}, TLIN(0)
        RING0_RETURN

user_pde_ro:
        CHECK   "user.pde_ro_read", [TLIN(0) + 0x40], 0x12121212
        PF      "user.pde_ro_write", PF_U | PF_P | PF_W, {mov [TLIN(0) + 0x40], eax}, TLIN(0) + 0x40
        RING0_RETURN

user_rsvd:
        PF      "user.rsvd_read", PF_U | PF_P | PF_RSVD, {mov eax, [LIN_BIG]}, LIN_BIG
        RING0_RETURN

user_fetch:
        PF_AT   "user.fetch_np", PF_U, {jmp TLIN(3) + 0x20}, TLIN(3) + 0x20, TLIN(3) + 0x20
        PF_AT   "user.fetch_sup", PF_U | PF_P, {jmp TLIN(5)}, TLIN(5), TLIN(5)
        xor     eax, eax
        mov     ecx, TLIN(9)
        call    ecx
        CHECK   "user.fetch_ro_page_runs", eax, 0x600DC0DE
        RING0_RETURN
