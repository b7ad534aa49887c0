; alu.asm - integer instructions with results and the flags the SDM defines.
;
; ADD/ADC/SUB/SBB/NEG/INC/DEC/logic, shifts and rotates (count 1 and CL),
; MUL/IMUL/DIV/IDIV, BT/BTS/BTR/BTC (register and memory bit strings with
; large offsets), BSF/BSR, SHLD/SHRD, XADD, CMPXCHG, CMPXCHG8B, BSWAP,
; CMOVcc, SETcc, MOVZX/MOVSX, XLAT, CBW/CWDE/CWD/CDQ, LEA forms, and whether
; CPUID exists (its values differ between CPU models and are not printed).
;
; Flag masks: F_ALL = OF SF ZF AF PF CF (0x8D5); F_LOGIC = OF SF ZF PF CF
; (0x8C5, AF undefined); F_CO = OF CF (0x801); F_C = CF.

%include "lib/mb32.inc"

F_ALL   equ 0x8D5
F_LOGIC equ 0x8C5
F_SZPC  equ 0x0C5
F_CO    equ 0x801
F_C     equ 0x001
F_Z     equ 0x040

; OP name, register, expected, flags mask, expected flags, instruction...
; (EFLAGS start as 0x002; instructions containing commas go in braces;
; a flags mask of 0 means no flags check)
%macro OP 6-*
        %xdefine %%name %1
        %xdefine %%reg %2
        %xdefine %%exp %3
        %xdefine %%mask %4
        %xdefine %%flags %5
        push    dword 0x002
        popfd
        %rotate 5
%rep %0 - 5
        %1
        %rotate 1
%endrep
        CHECK   %%name, %%reg, %%exp
%ifnidn %%mask, 0
        CHECKF  {%%name, ".flags"}, %%mask, %%flags
%endif
%endmacro

test_main:
        PRINT   "alu: start", 10
        ; arithmetic
        OP "add", eax, 0x80000000, F_ALL, 0x894, {mov eax, 0x7FFFFFFF}, {add eax, 1}
        OP "add_cf", eax, 0, F_ALL, 0x055, {mov eax, 0xFFFFFFFF}, {add eax, 1}
        OP "adc", eax, 0x10, F_ALL, 0x010, {mov eax, 0x0F}, stc, {adc eax, 0}
        OP "sub", eax, 0x7FFFFFFF, F_ALL, 0x814, {mov eax, 0x80000000}, {sub eax, 1}
        OP "sbb", eax, 0xFFFFFFFF, F_ALL, 0x095, {mov eax, 0}, stc, {sbb eax, 0}
        OP "cmp", eax, 5, F_ALL, 0x091, {mov eax, 5}, {cmp eax, 7}
        OP "neg", eax, 0xFFFFFFFF, F_ALL, 0x095, {mov eax, 1}, neg eax
        OP "neg0", eax, 0, F_ALL, 0x044, {mov eax, 0}, neg eax
        OP "inc_cf", eax, 0, 0x0D5, 0x055, {mov eax, 0xFF}, stc, inc al
        OP "dec8", eax, 0x7F, F_ALL, 0x810, {mov eax, 0x80}, dec al
        OP "and", eax, 0x00F0, F_LOGIC, 0x004, {mov eax, 0xF0F0}, {and eax, 0x0FF0}
        OP "or", eax, 0x80000001, F_LOGIC, 0x080, {mov eax, 0x80000000}, {or eax, 1}
        OP "xor", eax, 0, F_LOGIC, 0x044, {mov eax, 0x1234}, {xor eax, 0x1234}
        OP "test", eax, 0x8000, F_LOGIC, 0x084, {mov eax, 0x8000}, {test ax, ax}
        OP "not", eax, 0xF0F0F0F0, F_C, 1, {mov eax, 0x0F0F0F0F}, stc, not eax
        ; shifts and rotates
        OP "shl1", eax, 0x80000002, F_CO | F_SZPC, 0x081, {mov eax, 0xC0000001}, {shl eax, 1}
        OP "shl1_of", eax, 0x80000000, F_CO | F_SZPC, 0x884, {mov eax, 0x40000000}, {shl eax, 1}
        OP "shl_cl", eax, 0x00000010, F_SZPC, 0x001, {mov eax, 0x10000001}, {mov cl, 4}, {shl eax, cl}
        OP "shl_cl0", eax, 1, F_ALL, 0x001, {mov eax, 0x1}, {mov cl, 32}, stc, {shl eax, cl}
        OP "shr1", eax, 0x40000000, F_CO | F_SZPC, 0x805, {mov eax, 0x80000001}, {shr eax, 1}
        OP "shr_cl", eax, 0x0F, F_SZPC, 0x005, {mov eax, 0x000000F8}, {mov cl, 4}, {shr eax, cl}
        OP "sar1", eax, 0xC0000000, F_CO | F_SZPC, 0x085, {mov eax, 0x80000001}, {sar eax, 1}
        OP "sar_cl", eax, 0xFFFFFFFF, F_SZPC, 0x084, {mov eax, 0x80000000}, {mov cl, 31}, {sar eax, cl}
        OP "sar8", eax, 0xFF, F_SZPC, 0x085, {mov eax, 0x80}, {mov cl, 9}, {sar al, cl}
        OP "rol1", eax, 0x00000001, F_CO, 0x801, {mov eax, 0x80000000}, {rol eax, 1}
        OP "rol_cl", eax, 0x34567812, F_C, 0, {mov eax, 0x12345678}, {mov cl, 8}, {rol eax, cl}
        OP "ror1", eax, 0x80000000, F_CO, 0x801, {mov eax, 0x00000001}, {ror eax, 1}
        OP "ror_cl", eax, 0x81234567, F_C, 1, {mov eax, 0x12345678}, {mov cl, 36}, {ror eax, cl}
        OP "rcl1", eax, 0x00000001, F_CO, 0x801, {mov eax, 0x80000000}, stc, {rcl eax, 1}
        OP "rcr_cl", eax, 0xC0, F_C, 0, {mov eax, 0x01}, {mov cl, 2}, stc, {rcr al, cl}
        OP "rcl8_9", eax, 0x81, F_C, 0, {mov eax, 0x81}, {mov cl, 9}, {rcl al, cl}
        OP "shld", eax, 0x23456789, F_C | F_SZPC, 0x001, {mov eax, 0x12345678}, {mov edx, 0x9ABCDEF0}, {shld eax, edx, 4}
        OP "shrd_cl", eax, 0xF0123456, F_C | F_SZPC, 0x084, {mov eax, 0x12345678}, {mov edx, 0x9ABCDEF0}, {mov cl, 8}, {shrd eax, edx, cl}
        OP "shld16", eax, 0x234A, F_C | F_SZPC, 0x001, {mov eax, 0x1234}, {mov edx, 0xABCD}, {shld ax, dx, 4}
        ; multiply and divide
        OP "mul", edx, 2, F_CO, 0x801, {mov eax, 0x80000000}, {mov ecx, 4}, mul ecx
        OP "mul_lo", eax, 15, F_CO, 0, {mov eax, 3}, {mov ecx, 5}, mul ecx
        OP "imul1", edx, 0xFFFFFFFF, F_CO, 0, {mov eax, -3}, {mov ecx, 5}, imul ecx
        OP "imul2", eax, 0, F_CO, 0x801, {mov eax, 0x10000}, {mov ecx, 0x10000}, {imul eax, ecx}
        OP "imul3", eax, 0xFFFFFFC1, F_CO, 0, {mov ecx, 7}, {imul eax, ecx, -9}
        OP "imul8", eax, 0x0080, F_CO, 0x801, {mov eax, 0x80}, {mov cl, -1}, imul cl
        OP "div", eax, 0x80000002, 0, 0, {mov edx, 1}, {mov eax, 5}, {mov ecx, 2}, div ecx
        OP "div.rem", edx, 1, 0, 0, {mov edx, 1}, {mov eax, 5}, {mov ecx, 2}, div ecx
        OP "idiv", eax, 0xFFFFFFFD, 0, 0, {mov eax, -7}, cdq, {mov ecx, 2}, idiv ecx
        OP "idiv.rem", edx, 0xFFFFFFFF, 0, 0, {mov eax, -7}, cdq, {mov ecx, 2}, idiv ecx
        OP "div8", eax, 0x0710, 0, 0, {mov eax, 0x0107}, {mov cl, 0x10}, div cl
        ; bit instructions
        OP "bt", eax, 0x100, F_C, 1, {mov eax, 0x00000100}, {bt eax, 8}
        OP "bt_mod32", eax, 0x100, F_C, 1, {mov eax, 0x00000100}, {mov ecx, 40}, {bt eax, ecx}
        OP "bts", eax, 0x80000000, F_C, 0, {mov eax, 0}, {bts eax, 31}
        OP "btr", eax, 0xFFFFFFFE, F_C, 1, {mov eax, 0xFFFFFFFF}, {btr eax, 0}
        OP "btc", eax, 0, F_C, 1, {mov eax, 0x10}, {btc eax, 4}
        OP "bts_mem", [bitbuf+4], 2, F_C, 0, {mov dword [bitbuf+4], 0}, {mov ecx, 33}, {bts [bitbuf], ecx}
        OP "bt_mem_neg", ecx, -33, F_C, 1, {mov dword [bitbuf], 0x80000000}, {mov ecx, -33}, {bt [bitbuf+8], ecx}
        OP "btr_mem16", [bitbuf], 0, F_C, 1, {mov word [bitbuf+2], 0x8000}, {mov cx, 31}, {btr [bitbuf], cx}
        OP "bsf", eax, 20, F_Z, 0, {mov ecx, 0x00F00000}, {bsf eax, ecx}
        OP "bsr", eax, 23, F_Z, 0, {mov ecx, 0x00F00000}, {bsr eax, ecx}
        OP "bsf_zero", ecx, 0, F_Z, 0x40, {mov ecx, 0}, {bsf eax, ecx}
        ; exchange and compare
        OP "xadd", eax, 12, F_ALL, 0x004, {mov eax, 5}, {mov ecx, 7}, {xadd eax, ecx}
        OP "xadd.src", ecx, 5, 0, 0, {mov eax, 5}, {mov ecx, 7}, {xadd eax, ecx}
        OP "cmpxchg_eq", [bitbuf], 9, F_Z, 0x40, {mov eax, 3}, {mov dword [bitbuf], 3}, {mov ecx, 9}, {cmpxchg [bitbuf], ecx}
        OP "cmpxchg_ne", eax, 3, F_ALL, 0x000, {mov eax, 4}, {mov dword [bitbuf], 3}, {mov ecx, 9}, {cmpxchg [bitbuf], ecx}
        OP "cmpxchg_ne.mem", [bitbuf], 3, 0, 0, {mov eax, 4}, {mov dword [bitbuf], 3}, {mov ecx, 9}, {cmpxchg [bitbuf], ecx}
        OP "cmpxchg8b_eq", [bitbuf+4], 0xC, F_Z, 0x40, {mov dword [bitbuf], 1}, {mov dword [bitbuf+4], 2}, {mov eax, 1}, {mov edx, 2}, {mov ebx, 0xB}, {mov ecx, 0xC}, cmpxchg8b [bitbuf]
        OP "cmpxchg8b_ne", edx, 2, F_Z, 0, {mov dword [bitbuf], 1}, {mov dword [bitbuf+4], 2}, {mov eax, 1}, {mov edx, 3}, {mov ebx, 0xB}, {mov ecx, 0xC}, cmpxchg8b [bitbuf]
        OP "bswap", eax, 0x78563412, 0, 0, {mov eax, 0x12345678}, bswap eax
        OP "xchg", eax, 2, 0, 0, {mov eax, 1}, {mov ecx, 2}, {xchg eax, ecx}
        ; conditional moves and sets
        OP "cmovl_taken", eax, 2, 0, 0, {mov eax, 1}, {mov ecx, 2}, {mov edx, -1}, {cmp edx, 0}, {cmovl eax, ecx}
        OP "cmova_not", eax, 1, 0, 0, {mov eax, 1}, {mov ecx, 2}, {cmp eax, 1}, {cmova eax, ecx}
        OP "cmovo", eax, 9, 0, 0, {mov eax, 0x7FFFFFFF}, {mov ecx, 9}, {add eax, 1}, {cmovo eax, ecx}
        OP "setg", eax, 0xFFFFFF01, 0, 0, {mov eax, 0xFFFFFFFF}, {mov ecx, 5}, {cmp ecx, -5}, setg al
        OP "setb", eax, 0xFFFFFF01, 0, 0, {mov eax, 0xFFFFFFFF}, {mov ecx, 5}, {cmp ecx, -5}, setb al
        OP "setnp", eax, 1, 0, 0, {mov eax, 0}, {mov ecx, 1}, {test ecx, ecx}, setnp al
        OP "setle", eax, 0xFFFF00FF, 0, 0, {mov eax, 0xFFFFFFFF}, {mov ecx, 5}, {cmp ecx, 4}, setle ah
        ; extensions, conversions
        OP "movzx8", eax, 0x80, 0, 0, {mov cl, 0x80}, {movzx eax, cl}
        OP "movsx8", eax, 0xFFFFFF80, 0, 0, {mov cl, 0x80}, {movsx eax, cl}
        OP "movsx16", eax, 0xFFFF8001, 0, 0, {mov ecx, 0x8001}, {movsx eax, cx}
        OP "movsx8_16", eax, 0x1234FFFE, 0, 0, {mov eax, 0x12345678}, {mov cl, 0xFE}, {movsx ax, cl}
        OP "cbw", eax, 0x1234FF80, 0, 0, {mov eax, 0x12345680}, cbw
        OP "cwde", eax, 0xFFFF8000, 0, 0, {mov eax, 0x12348000}, cwde
        OP "cwd", edx, 0x1234FFFF, 0, 0, {mov eax, 0x8000}, {mov edx, 0x12345678}, cwd
        OP "cdq", edx, 0xFFFFFFFF, 0, 0, {mov eax, 0x80000000}, {mov edx, 0}, cdq
        OP "xlat", eax, 0xAA33, 0, 0, {mov ebx, xlat_table}, {mov eax, 0xAA03}, xlatb
        ; LEA forms
        OP "lea_sib", eax, 0x1028, 0, 0, {mov ebx, 0x1000}, {mov ecx, 3}, {lea eax, [ebx+ecx*8+0x10]}
        OP "lea_noreg", eax, 0x114, 0, 0, {mov ecx, 5}, {lea eax, [ecx*4+0x100]}
        OP "lea_ebp", eax, 0x1FF8, 0, 0, {mov ebp, 0x2000}, {lea eax, [ebp-8]}
        OP "lea_wrap", eax, 0x10, 0, 0, {mov ebx, 0xFFFFFFF0}, {lea eax, [ebx+0x20]}
        OP "lea16", eax, 0xFFFF1236, 0, 0, {mov eax, 0xFFFFFFFF}, {mov ebx, 0x1234}, {lea ax, [ebx+2]}

        ; CPUID: only report whether it exists (EFLAGS.ID toggles)
        pushfd
        pop     eax
        mov     ecx, eax
        xor     eax, 0x00200000
        push    eax
        popfd
        pushfd
        pop     eax
        xor     eax, ecx
        shr     eax, 21
        and     eax, 1
        CHECK   "cpuid.present", eax, 1
        xor     eax, eax
        cpuid
        cmp     eax, 1
        setae   al
        movzx   eax, al
        CHECK   "cpuid.leaf1_exists", eax, 1
        ret

section .data
bitbuf:           times 16 db 0
xlat_table:     db 0x00, 0x11, 0x22, 0x33, 0x44
