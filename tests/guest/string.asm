; string.asm - string instructions.
;
; MOVS/STOS/LODS/CMPS/SCAS in byte/word/dword sizes with DF=0 and DF=1,
; REP with ECX=0 (nothing happens, flags kept), REPE/REPNE termination on ZF,
; 16-bit address size (a16: SI/DI/CX wrap at 64 KiB), a segment override on
; the source, OUTSB to port 0xE9 (printing) and INSB from port 0xE9 (QEMU's
; debug console reads 0xE9; the value read is not checked).

%include "lib/mb32.inc"

BUF     equ 0x300000            ; scratch area (3 MiB)

test_main:
        PRINT   "string: start", 10
        cld
        ; MOVS in three sizes, DF=0
        mov     esi, src
        mov     edi, BUF
        mov     ecx, 3
        rep movsb
        CHECK   "movsb.ecx", ecx, 0
        CHECK   "movsb.esi", esi, src + 3
        CHECK   "movsb.edi", edi, BUF + 3
        mov     ecx, 2
        rep movsw
        CHECK   "movsw.edi", edi, BUF + 7
        mov     ecx, 2
        rep movsd
        CHECK   "movsd.edi", edi, BUF + 15
        CHECK   "movs.data0", [BUF], 'ABCD'
        CHECK   "movs.data8", [BUF+8], 'IJKL'
        ; DF=1
        std
        mov     esi, src + 7
        mov     edi, BUF + 0x107
        mov     ecx, 2
        rep movsd
        cld
        CHECK   "movsd_std.esi", esi, src - 1
        CHECK   "movsd_std.edi", edi, BUF + 0xFF
        CHECK   "movsd_std.data", [BUF+0x104], 'EFGH'
        ; STOS / LODS
        mov     edi, BUF + 0x200
        mov     eax, 0x11223344
        mov     ecx, 3
        rep stosw
        CHECK   "stosw.data", [BUF+0x200], 0x33443344
        CHECK   "stosw.edi", edi, BUF + 0x206
        std
        mov     al, 0x99
        stosb
        cld
        CHECK   "stosb_std.edi", edi, BUF + 0x205
        mov     esi, src
        lodsd
        CHECK   "lodsd", eax, 'ABCD'
        lodsw
        CHECK   "lodsw", eax, 0x44434645        ; upper half from the LODSD
        ; REP with ECX=0: nothing moves, flags unchanged
        mov     esi, src
        mov     edi, BUF + 0x300
        mov     dword [BUF+0x300], 0
        xor     ecx, ecx
        stc
        rep movsb
        CHECK   "rep0.esi", esi, src
        CHECK   "rep0.data", [BUF+0x300], 0
        CHECKF  "rep0.cf_kept", 1, 1
        xor     eax, eax                ; ZF=1, CF=0
        repne scasb
        CHECKF  "rep0.scas_zf_kept", 0x41, 0x40
        ; REPE CMPSB stops at the first difference
        mov     esi, src
        mov     edi, cmp_str
        mov     ecx, 10
        repe cmpsb
        CHECK   "repe_cmpsb.ecx", ecx, 10 - 4
        CHECK   "repe_cmpsb.esi", esi, src + 4
        CHECKF  "repe_cmpsb.flags", 0x8C5, 0x081    ; 'D'-'X' = EC: SF=1 CF=1 PF=0
        ; REPNE SCASB finds a byte
        mov     edi, src
        mov     al, 'G'
        mov     ecx, 100
        repne scasb
        CHECK   "repne_scasb.ecx", ecx, 100 - 7
        CHECK   "repne_scasb.edi", edi, src + 7
        CHECKF  "repne_scasb.zf", 0x40, 0x40
        ; CMPSD / SCASW single
        mov     esi, src
        mov     edi, src
        cmpsd
        CHECKF  "cmpsd.equal", 0x8C5, 0x044
        mov     edi, src
        mov     ax, 'AB'
        scasw
        CHECKF  "scasw.equal", 0x40, 0x40

        ; 16-bit address size: DI and CX wrap, upper halves untouched
        mov     ax, KDATA
        mov     es, ax
        mov     edi, 0xABCDFFFE
        mov     ecx, 0x55550004
        mov     al, 0x5A
        a16 rep stosb
        CHECK   "a16.edi", edi, 0xABCD0002
        CHECK   "a16.ecx", ecx, 0x55550000
        movzx   eax, byte [0xFFFF]
        CHECK   "a16.byte_ffff", eax, 0x5A
        movzx   eax, byte [0x0001]
        CHECK   "a16.byte_0001", eax, 0x5A
        ; segment override on the source (ES destination cannot be overridden)
        mov     ax, 0x30
        SETDESC 0x30, src - 0x100, 0xFFFFF, ACC_DATA0, FL_G | FL_DB
        mov     fs, ax
        mov     esi, 0x100
        mov     edi, BUF + 0x400
        mov     ecx, 4
        rep fs movsb
        CHECK   "movs_fs.data", [BUF+0x400], 'ABCD'

        ; OUTSB prints, INSB reads
        mov     esi, msg
        mov     ecx, msg_end - msg
        mov     dx, 0xE9
        rep outsb
        CHECK   "outsb.esi", esi, msg_end
        mov     edi, BUF + 0x500
        mov     dword [BUF+0x500], 0
        insb
        CHECK   "insb.edi", edi, BUF + 0x501
        ret

section .data
src:    db      "ABCDEFGHIJKLMNOP"
cmp_str: db     "ABCXEFGHIJ"
msg:    db      "outsb prints this line", 10
msg_end:
