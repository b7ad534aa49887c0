; segments.asm - protected-mode segment checks on data accesses and the
; descriptor-probing instructions.
;
; Limit checks for byte/word/dword accesses that end on or straddle the
; limit, expand-down data segments with B=1 (upper bound 4 GiB-1) and B=0
; (upper bound 0xFFFF), writes to a read-only data segment, reads through
; CS of execute-only and readable code segments, and LAR/LSL/VERR/VERW on a
; table of descriptors (result and ZF).

%include "lib/mb32.inc"

SEL_LIM         equ 0x30        ; data RW, base 0x200000, limit 0xFFF bytes
SEL_ED32        equ 0x38        ; data RW expand-down, limit 0xFFF, B=1
SEL_ED16        equ 0x40        ; data RW expand-down, limit 0xFFF, B=0
SEL_RO          equ 0x48        ; data read-only, base 0x200000, limit 0xFFF
SEL_XONLY       equ 0x50        ; code execute-only, flat, 32-bit
SEL_NP          equ 0x58        ; data RW not present, limit 0x12345 G=0
SEL_PAGES       equ 0x60        ; data RW, limit 0x00010 pages (G=1)
SEL_CGATE       equ 0x68        ; call gate DPL3
SEL_DATA3       equ 0x70        ; data RW, DPL3, limit 0xABCDE bytes

%macro FAULT 4 ; name, vector, error, instruction
        TRY     %%resume
%%at:   %4
%%resume:
        CHECK_FAULT %1, %2, %3, %%at
%endmacro

; NOFAULT name, instruction : the access must not fault
%macro NOFAULT 2
        TRY     %%resume
        %2
%%resume:
        CHECK   %1, [fault_vec], 0xFFFFFFFF
        mov     dword [fault_resume], 0
%endmacro

; PROBE name, selector, lar&0x00F0FF00, lar-zf, lsl, lsl-zf, verr-zf, verw-zf
; (when ZF=0 the destination must be unchanged: 0xDEADBEEF)
%macro PROBE 8
        mov     ecx, %2
        mov     eax, 0xDEADBEEF
        lar     eax, cx
        setz    bl
        and     eax, 0x00F0FF00
        CHECK   {%1, ".lar"}, eax, (%3) & 0x00F0FF00
        movzx   ebx, bl
        CHECK   {%1, ".lar_zf"}, ebx, %4
        mov     eax, 0xDEADBEEF
        lsl     eax, cx
        setz    bl
        CHECK   {%1, ".lsl"}, eax, %5
        movzx   ebx, bl
        CHECK   {%1, ".lsl_zf"}, ebx, %6
        verr    cx
        setz    bl
        movzx   ebx, bl
        CHECK   {%1, ".verr"}, ebx, %7
        verw    cx
        setz    bl
        movzx   ebx, bl
        CHECK   {%1, ".verw"}, ebx, %8
%endmacro

test_main:
        PRINT   "segments: start", 10
        SETDESC SEL_LIM, 0x200000, 0xFFF, ACC_DATA0, FL_DB
        SETDESC SEL_ED32, 0x200000, 0xFFF, 0x97, FL_DB
        SETDESC SEL_ED16, 0x200000, 0xFFF, 0x97, 0
        SETDESC SEL_RO, 0x200000, 0xFFF, 0x91, FL_DB
        SETDESC SEL_XONLY, 0, 0xFFFFF, 0x99, FL_G | FL_DB
        SETDESC SEL_NP, 0, 0x12345, 0x13, FL_DB
        SETDESC SEL_PAGES, 0, 0x10, ACC_DATA0, FL_G | FL_DB
        SETGATE SEL_CGATE, 0x00123456, KCODE, GATE_CALL3, 0   ; never called
        SETDESC SEL_DATA3, 0, 0xABCDE, ACC_DATA3, FL_DB

; ---- limit checks, expand-up ----------------------------------------------
        mov     ax, SEL_LIM
        mov     es, ax
        NOFAULT "lim.byte_at_limit", {mov al, [es:0xFFF]}
        NOFAULT "lim.word_end_at_limit", {mov ax, [es:0xFFE]}
        NOFAULT "lim.dword_end_at_limit", {mov eax, [es:0xFFC]}
        FAULT   "lim.byte_past", 13, 0, {mov al, [es:0x1000]}
        FAULT   "lim.word_straddle", 13, 0, {mov ax, [es:0xFFF]}
        FAULT   "lim.dword_straddle", 13, 0, {mov eax, [es:0xFFD]}
        FAULT   "lim.write_straddle", 13, 0, {mov dword [es:0xFFE], 0}
        FAULT   "lim.huge_offset", 13, 0, {mov al, [es:0xFFFFFFFF]}
        mov     ax, SEL_PAGES           ; G=1: limit 0x10FFF
        mov     es, ax
        NOFAULT "lim.g_last_byte", {mov al, [es:0x10FFF]}
        FAULT   "lim.g_past", 13, 0, {mov al, [es:0x11000]}

; ---- expand-down ----------------------------------------------------------
        mov     ax, SEL_ED32            ; valid offsets 0x1000..0xFFFFFFFF
        mov     es, ax
        FAULT   "ed32.at_limit", 13, 0, {mov al, [es:0xFFF]}
        FAULT   "ed32.low", 13, 0, {mov al, [es:0]}
        FAULT   "ed32.dword_straddle", 13, 0, {mov eax, [es:0xFFE]}
        NOFAULT "ed32.first_valid", {mov al, [es:0x1000]}
        NOFAULT "ed32.top_dword", {mov eax, [es:0xFFFFFFFC]}
        FAULT   "ed32.wrap_top", 13, 0, {mov eax, [es:0xFFFFFFFE]}
        mov     ax, SEL_ED16            ; valid offsets 0x1000..0xFFFF
        mov     es, ax
        NOFAULT "ed16.first_valid", {mov al, [es:0x1000]}
        NOFAULT "ed16.top_byte", {mov al, [es:0xFFFF]}
        FAULT   "ed16.top_word", 13, 0, {mov ax, [es:0xFFFF]}
        FAULT   "ed16.above_64k", 13, 0, {mov al, [es:0x10000]}
        FAULT   "ed16.at_limit", 13, 0, {mov al, [es:0xFFF]}

; ---- access rights --------------------------------------------------------
        mov     ax, SEL_RO
        mov     es, ax
        NOFAULT "ro.read", {mov eax, [es:0x10]}
        FAULT   "ro.write", 13, 0, {mov dword [es:0x10], 1}
        mov     edi, 0x10
        FAULT   "ro.stos", 13, 0, {stosb}
        mov     ax, SEL_RO
        FAULT   "ro.to_ss", 13, SEL_RO, {mov ss, ax}
        mov     ax, KDATA
        mov     es, ax
        mov     eax, [cs:code_word]     ; readable code through CS
        CHECK   "code.read_cs", eax, 0x5EC70A51
        ; execute-only code: run there and read through CS
        TRY     .xo_resume
        jmp     SEL_XONLY:.xo_code
.xo_code:
        mov     eax, 0x11111111
.xo_at: mov     eax, [cs:code_word]
.xo_resume:
        jmp     KCODE:.xo_back
.xo_back:
        CHECK_FAULT "code.xonly_read_cs", 13, 0, .xo_at
        CHECK   "code.xonly_eax_kept", [fault_regs + FR_EAX], 0x11111111

; ---- LAR / LSL / VERR / VERW ----------------------------------------------
        PROBE   "kcode", KCODE, 0x00CF9B00, 1, 0xFFFFFFFF, 1, 1, 0
        PROBE   "kdata", KDATA, 0x00CF9300, 1, 0xFFFFFFFF, 1, 1, 1
        PROBE   "ucode", UCODE, 0x00CFFB00, 1, 0xFFFFFFFF, 1, 1, 0
        PROBE   "lim", SEL_LIM, 0x00409300, 1, 0x00000FFF, 1, 1, 1
        PROBE   "ed16", SEL_ED16, 0x00009700, 1, 0x00000FFF, 1, 1, 1
        PROBE   "ro", SEL_RO, 0x00409100, 1, 0x00000FFF, 1, 1, 0
        PROBE   "xonly", SEL_XONLY, 0x00CF9900, 1, 0xFFFFFFFF, 1, 0, 0
        PROBE   "notpresent", SEL_NP, 0x00411300, 1, 0x00012345, 1, 1, 1
        PROBE   "pages", SEL_PAGES, 0x00C09300, 1, 0x00010FFF, 1, 1, 1
        PROBE   "tss_busy", TSS_SEL, 0x00008B00, 1, tss_end - tss - 1, 1, 0, 0
        PROBE   "callgate", SEL_CGATE, 0x0012EC00, 1, 0xDEADBEEF, 0, 0, 0
        PROBE   "data3_rpl3", SEL_DATA3 | 3, 0x004AF300, 1, 0x000ABCDE, 1, 1, 1
        PROBE   "null", 0, 0xDEADBEEF, 0, 0xDEADBEEF, 0, 0, 0
        PROBE   "beyond_gdt", 0x100, 0xDEADBEEF, 0, 0xDEADBEEF, 0, 0, 0
        PROBE   "empty_entry", 0xF8, 0xDEADBEEF, 0, 0xDEADBEEF, 0, 0, 0
        ret

code_word:
        dd      0x5EC70A51
