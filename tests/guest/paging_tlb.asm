; paging_tlb.asm - translation caching that software may rely on (SDM 4.10).
;
; Only what the SDM guarantees is checked, never a stale translation:
;   - after a PTE change, INVLPG (of any address in the page) or a CR3 reload
;     makes the new translation visible; INVLPG of an address in a 4 MiB
;     page invalidates the whole page; INVLPG of an unmapped address does
;     not fault; INVLPG at CPL 3 raises #GP(0);
;   - a not-present entry is never cached: after a not-present #PF, setting
;     P=1 needs no invalidation;
;   - a page fault invalidates the translation of its address: after a
;     read-only PTE is made writable without invalidation, a write faults
;     at most once (SDM 4.10.4.3) and then succeeds;
;   - MOV to CR3 switches between two address spaces that map one linear
;     page to different physical pages (1000 round trips);
;   - with CR4.PGE, a global page identical in both address spaces keeps
;     working across CR3 switches, non-global pages still follow CR3,
;     INVLPG invalidates a global page and toggling CR4.PGE flushes it.

%include "lib/mb32.inc"
%include "lib/paging.inc"

PD_B            equ SCRATCH(0)          ; second address space
PT_B            equ SCRATCH(1)          ; its test-window table
LIN_BIG         equ 0x01800000
BIG_PHYS        equ 0x00800000
ROUNDS          equ 1000

test_main:
        PRINT   "paging_tlb: start", 10
        call    pg_init
        ; marker n at offset 0 of PHYS(n)
        xor     ecx, ecx
.mk:    mov     eax, ecx
        or      eax, 0x7AB00000
        mov     edi, ecx
        shl     edi, 12
        add     edi, PG_PHYS
        mov     [edi], eax
        inc     ecx
        cmp     ecx, 16
        jb      .mk
        call    pg_on

; ---- INVLPG / CR3 reload after a PTE change ----------------------------------
        SETPTE  0, PHYS(0) | PTE_PUW
        CHECK   "invlpg.initial", [TLIN(0)], 0x7AB00000
        mov     dword PTE_OF(0), PHYS(1) | PTE_PUW
        invlpg  [TLIN(0) + 0x567]               ; any address in the page
        CHECK   "invlpg.new_translation", [TLIN(0)], 0x7AB00001
        ; many remaps in a row
        xor     ebx, ebx                        ; mismatches
        xor     ecx, ecx
.remap: mov     eax, ecx
        and     eax, 7
        shl     eax, 12
        add     eax, PHYS(0) | PTE_PUW
        mov     PTE_OF(0), eax
        invlpg  [TLIN(0)]
        mov     eax, ecx
        and     eax, 7
        or      eax, 0x7AB00000
        cmp     [TLIN(0)], eax
        je      .rm_ok
        inc     ebx
.rm_ok: inc     ecx
        cmp     ecx, 64
        jb      .remap
        CHECK   "invlpg.remap_64x.mismatches", ebx, 0
        mov     dword PTE_OF(0), PHYS(2) | PTE_PUW
        mov     eax, cr3
        mov     cr3, eax
        CHECK   "cr3_reload.new_translation", [TLIN(0)], 0x7AB00002
        mov     dword PTE_OF(0), 0
        invlpg  [TLIN(0)]
        PF      "invlpg.now_not_present", 0, {mov eax, [TLIN(0)]}, TLIN(0)
        NOFAULT "invlpg.unmapped", {invlpg [0xFFFFF000]}
        mov     eax, user_invlpg
        call    ring3_call

; ---- not-present entries are not cached ------------------------------------------
        SETPTE  1, 0
        PF      "np_to_present.fault", 0, {mov eax, [TLIN(1) + 4]}, TLIN(1) + 4
        mov     dword PTE_OF(1), PHYS(3) | PTE_PUW       ; no invalidation
        xor     eax, eax
        NOFAULT "np_to_present", {mov eax, [TLIN(1)]}
        CHECK   "np_to_present.value", eax, 0x7AB00003

; ---- a page fault invalidates its translation ------------------------------------
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        SETPTE  2, PHYS(4) | PTE_P | PTE_U              ; read-only
        CHECK   "ro_to_rw.read", [TLIN(2)], 0x7AB00004
        PF      "ro_to_rw.fault", PF_P | PF_W, {mov dword [TLIN(2) + 8], 1}, TLIN(2) + 8
        or      dword PTE_OF(2), PTE_W                  ; no invalidation
        mov     dword [spurious], 0
        TRY     .sp1
        mov     dword [TLIN(2) + 8], 0x600D
        jmp     .sp_done
.sp1:   inc     dword [spurious]                        ; allowed once
        TRY     .sp2
        mov     dword [TLIN(2) + 8], 0x600D
        jmp     .sp_done
.sp2:   inc     dword [spurious]
.sp_done:
        mov     dword [fault_resume], 0
        xor     eax, eax
        cmp     dword [spurious], 2
        setae   al
        CHECK   "ro_to_rw.at_most_one_fault", eax, 0
        CHECK   "ro_to_rw.written", [PHYS(4) + 8], 0x600D
        ; read-only -> read/write with INVLPG: no fault at all
        SETPTE  3, PHYS(5) | PTE_P | PTE_U
        CHECK   "ro_to_rw_invlpg.read", [TLIN(3)], 0x7AB00005
        SETPTE  3, PHYS(5) | PTE_PUW
        NOFAULT "ro_to_rw_invlpg", {mov dword [TLIN(3) + 8], 0x600E}
        CHECK   "ro_to_rw_invlpg.written", [PHYS(5) + 8], 0x600E
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax

; ---- INVLPG of a 4 MiB page ----------------------------------------------------------
        call    pg_cpuid_edx1
        test    edx, CPUID_PSE
        jnz     .pse
        PRINT   "skip: no PSE", 10
        jmp     .pse_done
.pse:   mov     dword [BIG_PHYS + 0x300000], 0x7AB40000
        mov     dword [BIG_PHYS + 0x700000], 0x7AB40001
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], BIG_PHYS | PTE_PS | PTE_PUW
        invlpg  [LIN_BIG]
        mov     eax, [LIN_BIG + 0x100000]
        CHECK   "invlpg4m.before", [LIN_BIG + 0x300000], 0x7AB40000
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], (BIG_PHYS + 0x400000) | PTE_PS | PTE_PUW
        invlpg  [LIN_BIG + 0x123456]            ; another 4 KiB part of it
        CHECK   "invlpg4m.whole_page", [LIN_BIG + 0x300000], 0x7AB40001
        mov     dword [PG_PD + (LIN_BIG >> 22) * 4], 0
        invlpg  [LIN_BIG]
        mov     eax, cr4
        and     eax, ~CR4_PSE
        mov     cr4, eax
.pse_done:

; ---- two address spaces -------------------------------------------------------------
        ; B = copy of A whose test table maps TLIN(8) to PHYS(9), not PHYS(8)
        CLONE_SPACE PD_B, PT_B
        mov     dword PTE_OF(8), PHYS(8) | PTE_PUW
        mov     dword [PT_B + 8 * 4], PHYS(9) | PTE_PUW
        xor     ebx, ebx                        ; mismatches
        xor     ecx, ecx
        mov     esi, PG_PD
        mov     edi, PD_B
.sw:    mov     cr3, esi
        cmp     dword [TLIN(8)], 0x7AB00008
        je      .sw_a
        inc     ebx
.sw_a:  mov     [TLIN(8) + 4], ecx
        mov     cr3, edi
        cmp     dword [TLIN(8)], 0x7AB00009
        je      .sw_b
        inc     ebx
.sw_b:  mov     eax, ecx
        not     eax
        mov     [TLIN(8) + 4], eax
        inc     ecx
        cmp     ecx, ROUNDS
        jb      .sw
        mov     cr3, esi
        CHECK   "cr3_switch_1000x.mismatches", ebx, 0
        CHECK   "cr3_switch.last_write_a", [PHYS(8) + 4], ROUNDS - 1
        CHECK   "cr3_switch.last_write_b", [PHYS(9) + 4], ~(ROUNDS - 1)
        mov     eax, cr3
        CHECK   "cr3_switch.cr3", eax, PG_PD

; ---- global pages -------------------------------------------------------------------
        call    pg_cpuid_edx1
        test    edx, CPUID_PGE
        jnz     .pge
        PRINT   "skip: no PGE", 10
        jmp     .pge_done
.pge:   mov     eax, cr4
        or      eax, CR4_PGE
        mov     cr4, eax
        mov     dword PTE_OF(10), PHYS(10) | PTE_PUW | PTE_G
        mov     dword [PT_B + 10 * 4], PHYS(10) | PTE_PUW | PTE_G
        invlpg  [TLIN(10)]
        xor     ebx, ebx
        xor     ecx, ecx
        mov     esi, PG_PD
        mov     edi, PD_B
.gsw:   mov     cr3, esi
        cmp     dword [TLIN(10)], 0x7AB0000A
        je      .g1
        inc     ebx
.g1:    cmp     dword [TLIN(8)], 0x7AB00008     ; non-global: follows CR3
        je      .g2
        inc     ebx
.g2:    mov     cr3, edi
        cmp     dword [TLIN(10)], 0x7AB0000A
        je      .g3
        inc     ebx
.g3:    cmp     dword [TLIN(8)], 0x7AB00009
        je      .g4
        inc     ebx
.g4:    inc     ecx
        cmp     ecx, 100
        jb      .gsw
        mov     cr3, esi
        CHECK   "global.cr3_switch_100x.mismatches", ebx, 0
        mov     dword [TLIN(10) + 4], 0x6100D
        CHECK   "global.write", [PHYS(10) + 4], 0x6100D
        ; INVLPG invalidates a global translation
        mov     dword PTE_OF(10), PHYS(11) | PTE_PUW | PTE_G
        invlpg  [TLIN(10)]
        CHECK   "global.invlpg", [TLIN(10)], 0x7AB0000B
        ; clearing CR4.PGE flushes global translations
        mov     dword PTE_OF(10), PHYS(12) | PTE_PUW | PTE_G
        mov     eax, cr4
        and     eax, ~CR4_PGE
        mov     cr4, eax
        CHECK   "global.pge_clear_flushes", [TLIN(10)], 0x7AB0000C
        ; setting CR4.PGE flushes too
        mov     dword PTE_OF(10), PHYS(13) | PTE_PUW | PTE_G
        mov     eax, cr4
        or      eax, CR4_PGE
        mov     cr4, eax
        CHECK   "global.pge_set_flushes", [TLIN(10)], 0x7AB0000D
        mov     eax, cr4
        and     eax, ~CR4_PGE
        mov     cr4, eax
.pge_done:
        call    pg_off
        ret

user_invlpg:
        TRY     .r
.at:    invlpg  [TLIN(0)]
.r:     CHECK_FAULT "invlpg.cpl3_gp", 13, 0, .at
        RING0_RETURN

section .data
spurious:       dd 0
