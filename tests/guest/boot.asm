; boot.asm - the multiboot hand-off: EAX magic, the info structure's flags
; and memory fields (for -m 32: mem_lower = 639 KiB, mem_upper = 31744 KiB),
; and the machine state at entry (protected mode, paging off, IF=0).

%include "lib/mb32.inc"

test_main:
        PRINT   "boot: multiboot entry", 10
        CHECK   "magic", [mb_magic], 0x2BADB002
        mov     ebx, [mb_info]
        mov     eax, [ebx]
        and     eax, 1
        CHECK   "info.flags_mem", eax, 1
        CHECK   "info.mem_lower", [ebx+4], 639
        CHECK   "info.mem_upper", [ebx+8], 32 * 1024 - 1024
        mov     eax, cr0
        and     eax, 0x80000001
        CHECK   "cr0.pe_pg", eax, 1
        pushfd
        pop     eax
        and     eax, 0x200
        CHECK   "eflags.if", eax, 0
        ret
