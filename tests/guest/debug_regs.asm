; debug_regs.asm - the guest's own debugging (SDM vol. 3 ch. 17): EFLAGS.TF single-step
; traps (one after each instruction, from the one after the POPF that sets TF to the POPF
; that clears it; none after INT n), DR0-DR3 instruction breakpoints (a fault before the
; instruction, suppressed once by RF), data breakpoints on writes and on reads or writes
; (a trap after the instruction), their lengths, and DR7.GD (a fault on the next
; debug-register access, GD cleared). Each #DB records EIP, DR6 and a count. A fault
; pushes RF set (no second #DB on the instruction it returns to); INT n pushes RF as it
; is; a REP string under an instruction breakpoint takes one #DB.

%include "lib/mb32.inc"

DR7_L0          equ 1 << 0
DR7_L1          equ 1 << 2
DR7_L2          equ 1 << 4
DR7_GD          equ 1 << 13
TF              equ 1 << 8
RF              equ 1 << 16

%macro DBRESET 0
        mov     dword [db_count], 0
        mov     dword [db_eip], 0
        mov     dword [db_dr6], 0
%endmacro

test_main:
        PRINT   "debug_regs: start", 10
        SETIDT  1, db_handler, KCODE, GATE_INT0
        SETIDT  0x40, soft_int, KCODE, GATE_INT0

; ---- single step ------------------------------------------------------------
        DBRESET
        pushfd
        or      dword [esp], TF
        popfd                           ; no trap: TF was clear when it started
        nop                             ; 1
step2:  nop                             ; 2
        int     0x40                    ; none: INT n clears TF for its handler
        pushfd                          ; 3 (the handler's IRET set TF again)
        and     dword [esp], ~TF        ; 4
        popfd                           ; 5: TF was set when it started
step_end:
        nop
        CHECK   "tf.count", [db_count], 5
        CHECK   "tf.last_eip", [db_eip], step_end
        mov     eax, [db_dr6]
        and     eax, 0x400F
        CHECK   "tf.dr6_bs", eax, 0x4000
        CHECK   "tf.soft_int_ran", [soft_count], 1

; ---- instruction breakpoint --------------------------------------------------
        DBRESET
        mov     eax, ibp
        mov     dr0, eax
        mov     eax, DR7_L0             ; R/W0 = 00, LEN0 = 00: execution
        mov     dr7, eax
        mov     ecx, 2
ibp_loop:
        xor     ebx, ebx
ibp:    inc     ebx                     ; the breakpoint: a fault before it, twice
        dec     ecx
        jnz     ibp_loop
        xor     eax, eax
        mov     dr7, eax
        CHECK   "ibp.count", [db_count], 2
        CHECK   "ibp.eip", [db_eip], ibp
        mov     eax, [db_dr6]
        and     eax, 0x400F
        CHECK   "ibp.dr6_b0", eax, 1
        CHECK   "ibp.ran", ebx, 1

; ---- data breakpoint on writes -------------------------------------------------
        DBRESET
        mov     eax, var_a
        mov     dr1, eax
        mov     eax, DR7_L1 | (01b << 20) | (11b << 22)    ; R/W1 = write, LEN1 = 4 bytes
        mov     dr7, eax
        mov     eax, [var_a]            ; a read: nothing
        mov     byte [var_a + 2], 7     ; a write into the dword: a trap after it
wr_after:
        nop
        mov     eax, [var_a + 4]        ; the next dword: nothing
        mov     [var_a + 4], eax
        xor     eax, eax
        mov     dr7, eax
        CHECK   "dw.count", [db_count], 1
        CHECK   "dw.eip", [db_eip], wr_after
        mov     eax, [db_dr6]
        and     eax, 0x400F
        CHECK   "dw.dr6_b1", eax, 2

; ---- data breakpoint on reads or writes, 2 bytes -------------------------------
        DBRESET
        mov     eax, var_b + 2
        mov     dr2, eax
        mov     eax, DR7_L2 | (11b << 24) | (01b << 26)    ; R/W2 = read/write, LEN2 = 2
        mov     dr7, eax
        mov     ax, [var_b]             ; bytes 0-1: nothing
        mov     al, [var_b + 3]         ; byte 3: a trap
rd_after:
        xor     eax, eax
        mov     dr7, eax
        CHECK   "drw.count", [db_count], 1
        CHECK   "drw.eip", [db_eip], rd_after
        mov     eax, [db_dr6]
        and     eax, 0x400F
        CHECK   "drw.dr6_b2", eax, 4

; ---- RF in the frame of a fault --------------------------------------------------
; A fault pushes RF set even with no breakpoint anywhere.
        mov     esi, 0xFFF8
        TRY     rf_plain_resume
rf_plain_at:
        mov     ds, si
rf_plain_resume:
        CHECK_FAULT "rf.plain_gp", 13, 0xFFF8, rf_plain_at
        mov     eax, [fault_eflags]
        and     eax, RF
        CHECK   "rf.plain_gp_frame_rf", eax, RF

; An instruction breakpoint on an instruction that then faults: the fault's EFLAGS image
; has RF set, so the handler's IRET lets the instruction run without a second #DB; once
; it retires RF is clear again, and the next pass takes the breakpoint anew.
        DBRESET
        SETIDT  13, gp_fix, KCODE, GATE_INT0
        mov     eax, rf_insn
        mov     dr0, eax
        mov     eax, DR7_L0
        mov     dr7, eax
        mov     ecx, 2
rf_loop:
        mov     esi, 0xFFF8             ; beyond the GDT: #GP(0xFFF8); the handler mends ESI
rf_insn:
        mov     ds, si
        dec     ecx
        jnz     rf_loop
        xor     eax, eax
        mov     dr7, eax
        SETIDT  13, [exc_stub_table + 13 * 4], KCODE, GATE_INT0
        CHECK   "rf.db_count", [db_count], 2
        CHECK   "rf.gp_count", [gp_count], 2
        mov     eax, [gp_eflags]
        and     eax, RF
        CHECK   "rf.gp_frame_rf", eax, RF
        ; INT 0x40 in the single-step section ran right after the #DB handler's IRET
        ; set RF: RF is cleared when an instruction completes, so INT pushed it set.
        mov     eax, [soft_eflags]
        and     eax, RF
        CHECK   "rf.int_after_rf_iret", eax, RF

; ---- a REP string under an instruction breakpoint ---------------------------------
; One #DB before it, however many iterations it runs.
        DBRESET
        mov     eax, rep_insn
        mov     dr0, eax
        mov     eax, DR7_L0
        mov     dr7, eax
        mov     edi, rep_buf
        mov     ecx, REP_LEN
        mov     al, 0x5A
rep_insn:
        rep stosb
        xor     eax, eax
        mov     dr7, eax
        CHECK   "rep.db_count", [db_count], 1
        CHECK   "rep.ecx", ecx, 0
        movzx   eax, byte [rep_buf + REP_LEN - 1]
        CHECK   "rep.last_byte", eax, 0x5A

; ---- general detect ------------------------------------------------------------
        DBRESET
        mov     eax, DR7_GD
        mov     dr7, eax
gd_insn:
        mov     eax, dr0                ; faults once (GD is cleared), then runs
        mov     eax, dr7
        and     eax, DR7_GD
        CHECK   "gd.cleared", eax, 0
        CHECK   "gd.count", [db_count], 1
        CHECK   "gd.eip", [db_eip], gd_insn
        mov     eax, [db_dr6]
        and     eax, 0x600F
        CHECK   "gd.dr6_bd", eax, 0x2000
        ret

; #DB: count, record EIP and DR6, clear DR6, set RF in the image so that an instruction
; breakpoint lets the instruction run when the handler returns.
db_handler:
        push    eax
        inc     dword [db_count]
        mov     eax, [esp + 4]
        mov     [db_eip], eax
        mov     eax, dr6
        mov     [db_dr6], eax
        mov     eax, 0xFFFF0FF0
        mov     dr6, eax
        or      dword [esp + 12], RF
        pop     eax
        iret

soft_int:
        inc     dword [soft_count]
        push    eax
        mov     eax, [esp + 12]
        mov     [soft_eflags], eax
        pop     eax
        iret

; #GP from rf_insn: record the EFLAGS image, load ESI with a good selector, retry.
gp_fix:
        push    eax
        inc     dword [gp_count]
        mov     eax, [esp + 16]         ; EAX, error code, EIP, CS, EFLAGS
        mov     [gp_eflags], eax
        mov     esi, KDATA
        pop     eax
        add     esp, 4
        iret

section .data
db_count:       dd 0
db_eip:         dd 0
db_dr6:         dd 0
soft_count:     dd 0
soft_eflags:    dd 0
gp_count:       dd 0
gp_eflags:      dd 0
align 8                                 ; breakpoint addresses are aligned to their length
var_a:          dd 0, 0
var_b:          dd 0
REP_LEN         equ 3 * 4096 + 5        ; past popek's 4096-iteration turns
rep_buf:        times REP_LEN db 0
