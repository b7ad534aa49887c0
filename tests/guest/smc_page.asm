; smc_page.asm - code and the data it writes on one page, and a write into one block of
; a page whose other blocks stay.
;
; Checked:
;   - a loop that increments a variable on its own code page counts right (and, with
;     --stats, decodes its blocks once: guest.smc_page.decodes_once checks the figure);
;   - block A jumps to block B on the same page; both run often enough for the JIT to
;     translate them and patch A's jump into B. A write into B's bytes only (from code
;     elsewhere) drops B and not A: A's jump must then reach the new B, not the old one.

%include "lib/mb32.inc"

DATA_ROUNDS     equ 100000

test_main:
        PRINT   "smc_page: start", 10
        mov     ecx, DATA_ROUNDS
        call    data_loop
        CHECK   "data_next_to_code.count", [counter], DATA_ROUNDS
        CHECK   "data_next_to_code.last", [last], 1

        xor     ebx, ebx
        xor     ecx, ecx
        mov     edx, 100
        call    chain_a                         ; ebx += 1, 100 times
        CHECK   "chain.before_patch", ebx, 100
        mov     dword [chain_b + 1], 2          ; B's immediate: not one of A's bytes
        mov     edx, 200
        call    chain_a                         ; ebx += 2, 100 times
        CHECK   "chain.after_patch", ebx, 300
        mov     dword [chain_b + 1], 1
        ret

        align   4096
data_loop:
        inc     dword [counter]
        mov     [last], ecx
        dec     ecx
        jnz     data_loop
        ret
counter:
        dd      0
last:
        dd      0

chain_a:                                        ; block A
        inc     ecx
        jmp     chain_b
        times 16 db 0xCC
chain_b:                                        ; block B
        mov     eax, 1
        add     ebx, eax
        cmp     ecx, edx
        jb      chain_a
        ret
