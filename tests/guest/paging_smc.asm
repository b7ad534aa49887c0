; paging_smc.asm - self-modifying code under paging.
;
; One physical code page PHYS(0) is mapped at linear CODE_X (user,
; read-only: executed) and at CODE_W (writable alias).  Checked:
;   - a function at CODE_X returns its immediate; the immediate is patched
;     through CODE_W and the function run again at CODE_X (100 rounds);
;   - code at CODE_X stores through CODE_W into the instruction right after
;     the store (an immediate, an opcode byte), into an instruction a few
;     instructions further on in the same straight-line run, and into an
;     instruction of the loop it is running (every iteration);
;   - the same next-instruction patch through the same linear address (a
;     page mapped writable and executed at CODE_RWX);
;   - a code page whose PTE is switched to another physical page (INVLPG)
;     or whose address space is switched (MOV CR3) runs the new code.
;
; The SDM (8.1.3, 11.6) guarantees a store to the next instruction when it
; uses the linear address the code is fetched from; processors detect
; stores through another linear address by physical address (P6: only in
; the caches, not in the prefetch queue; later processors: everywhere).
; The checks through the alias expect the modified instruction to run,
; which is what a JIT must provide and what QEMU does.

%include "lib/mb32.inc"
%include "lib/paging.inc"

CODE_X          equ TLIN(0)             ; PHYS(0), executed
CODE_W          equ TLIN(1)             ; PHYS(0), writable alias
CODE_RWX        equ TLIN(2)             ; PHYS(1), writable and executed
CODE_SW         equ TLIN(3)             ; PHYS(2) or PHYS(3)
PD_B            equ SCRATCH(0)
PT_B            equ SCRATCH(1)

; where each template sits in its code page
OFF_RET_IMM     equ 0x000
OFF_NEXT_IMM    equ 0x100
OFF_NEXT_OP     equ 0x200
OFF_LATER       equ 0x300
OFF_LOOP        equ 0x400
OFF_SAME        equ 0x000               ; in PHYS(1)

; COPY template_start, template_end, destination
%macro COPY 3
        mov     esi, %1
        mov     edi, %3
        mov     ecx, %2 - %1
        rep movsb
%endmacro

test_main:
        PRINT   "paging_smc: start", 10
        call    pg_init
        call    pg_on
        mov     edi, PHYS(0)
        mov     eax, 0xCCCCCCCC                 ; int3 everywhere else
        call    pg_fill_page
        mov     edi, PHYS(1)
        call    pg_fill_page
        SETPTE  0, PHYS(0) | PTE_P | PTE_U
        SETPTE  1, PHYS(0) | PTE_PUW
        SETPTE  2, PHYS(1) | PTE_PUW
        COPY    t_ret_imm, t_ret_imm.end, CODE_W + OFF_RET_IMM
        COPY    t_next_imm, t_next_imm.end, CODE_W + OFF_NEXT_IMM
        COPY    t_next_op, t_next_op.end, CODE_W + OFF_NEXT_OP
        COPY    t_later, t_later.end, CODE_W + OFF_LATER
        COPY    t_loop, t_loop.end, CODE_W + OFF_LOOP
        COPY    t_same, t_same.end, CODE_RWX + OFF_SAME

; ---- run, patch through the alias, run again ---------------------------------------
        mov     ecx, CODE_X + OFF_RET_IMM
        call    ecx
        CHECK   "alias.first_run", eax, 0x11111111
        mov     dword [CODE_W + OFF_RET_IMM + 1], 0x22222222
        call    ecx
        CHECK   "alias.patched_run", eax, 0x22222222
        xor     ebx, ebx                        ; mismatches
        xor     esi, esi
.rounds:
        mov     [CODE_W + OFF_RET_IMM + 1], esi
        call    ecx
        cmp     eax, esi
        je      .r_ok
        inc     ebx
.r_ok:  add     esi, 0x01010101
        cmp     esi, 100 * 0x01010101
        jb      .rounds
        CHECK   "alias.patch_run_100x.mismatches", ebx, 0
        CHECK   "alias.code_bytes", [PHYS(0) + OFF_RET_IMM + 1], 99 * 0x01010101

; ---- patches inside a straight-line run ------------------------------------------------
        mov     ecx, CODE_X + OFF_NEXT_IMM
        call    ecx
        CHECK   "alias.next_insn_imm", eax, 0x44444444
        mov     ecx, CODE_X + OFF_NEXT_OP
        call    ecx
        CHECK   "alias.next_insn_opcode", eax, 0xFFFFFFFF
        mov     ecx, CODE_X + OFF_LATER
        call    ecx
        CHECK   "alias.later_insn_imm", eax, 0x66666666
        mov     ecx, CODE_X + OFF_LOOP
        call    ecx
        CHECK   "alias.loop_body_sum", eax, 55
        ; the run-once templates reset themselves: run them again
        mov     ecx, CODE_X + OFF_NEXT_IMM
        call    ecx
        CHECK   "alias.next_insn_imm.again", eax, 0x44444444
        mov     ecx, CODE_X + OFF_NEXT_OP
        call    ecx
        CHECK   "alias.next_insn_opcode.again", eax, 0xFFFFFFFF
        mov     ecx, CODE_RWX + OFF_SAME
        call    ecx
        CHECK   "same_linear.next_insn_imm", eax, 0x88888888

; ---- the code page's translation changes -----------------------------------------------
        mov     dword [PHYS(2)], 0x000001B8     ; mov eax, 1
        mov     dword [PHYS(2) + 4], 0xCCCCC300 ; ret
        mov     dword [PHYS(3)], 0x000002B8     ; mov eax, 2
        mov     dword [PHYS(3) + 4], 0xCCCCC300 ; ret
        SETPTE  3, PHYS(2) | PTE_P | PTE_U
        mov     ecx, CODE_SW
        call    ecx
        CHECK   "remap.before", eax, 1
        SETPTE  3, PHYS(3) | PTE_P | PTE_U
        call    ecx
        CHECK   "remap.invlpg_runs_new_page", eax, 2
        ; address space B: CODE_SW -> PHYS(2) again
        CLONE_SPACE PD_B, PT_B
        mov     dword [PT_B + 3 * 4], PHYS(2) | PTE_P | PTE_U
        xor     ebx, ebx
        xor     esi, esi
        mov     ecx, CODE_SW
.sw:    mov     eax, PD_B
        mov     cr3, eax
        call    ecx
        cmp     eax, 1
        je      .sw1
        inc     ebx
.sw1:   mov     eax, PG_PD
        mov     cr3, eax
        call    ecx
        cmp     eax, 2
        je      .sw2
        inc     ebx
.sw2:   inc     esi
        cmp     esi, 100
        jb      .sw
        CHECK   "remap.cr3_switch_100x.mismatches", ebx, 0

        call    pg_off
        ret

; ---- templates (copied into the code pages, never run in place) -----------------
; mov eax, imm32 ; ret
t_ret_imm:
        mov     eax, 0x11111111
        ret
.end:

; the store patches the immediate of the very next instruction, then the
; template puts the old immediate back for the next run
t_next_imm:
        mov     dword [CODE_W + OFF_NEXT_IMM + (.next - t_next_imm) + 1], 0x44444444
.next:  mov     eax, 0x33333333
        mov     dword [CODE_W + OFF_NEXT_IMM + (.next - t_next_imm) + 1], 0x33333333
        ret
.end:

; the store turns the next instruction from INC EAX into DEC EAX
t_next_op:
        xor     eax, eax
        mov     byte [CODE_W + OFF_NEXT_OP + (.next - t_next_op)], 0x48
.next:  inc     eax
        mov     byte [CODE_W + OFF_NEXT_OP + (.next - t_next_op)], 0x40
        ret
.end:

; the store patches an instruction four instructions further on
t_later:
        mov     dword [CODE_W + OFF_LATER + (.later - t_later) + 1], 0x66666666
        mov     ebx, 1
        add     ebx, ebx
        xor     edx, edx
.later: mov     eax, 0x55555555
        ret
.end:

; each iteration patches the immediate of an instruction of the loop body
; with ECX before running it: the sum is 10 + 9 + ... + 1
t_loop:
        mov     ecx, 10
        xor     edx, edx
.body:  mov     [CODE_W + OFF_LOOP + (.imm - t_loop) + 1], ecx
.imm:   mov     ebx, 0
        add     edx, ebx
        dec     ecx
        jnz     .body
        mov     eax, edx
        ret
.end:

; the same next-instruction patch through the linear address being run
t_same:
        mov     dword [CODE_RWX + OFF_SAME + (.next - t_same) + 1], 0x88888888
.next:  mov     eax, 0x77777777
        ret
.end:
