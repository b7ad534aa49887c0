; tasks.asm - hardware task switches.
;
; The four ways into a task: JMP to a TSS (not nested: the old task's busy
; bit clears, NT stays clear), CALL through a task gate in the GDT (nested:
; back link, NT, the caller stays busy), INT n through a task gate in the IDT,
; and an exception through a task gate (#GP with its error code pushed on the
; new task's stack).  Task A calls task B, B and A return by IRET through
; their back links.  A 16-bit TSS.  Switches that fault before the switch
; (busy TSS #GP, not-present TSS #NP, short TSS #TS, IRET to a task that is
; not busy #TS) and one that faults after it, in the new task (#NP for a
; not-present FS in the new TSS, at the new task's first instruction).  A
; switch to a TSS whose T bit is set raises a #DB trap (DR6.BT) in the new
; task before its first instruction.

%include "lib/mb32.inc"

SEL_A           equ 0x30        ; 32-bit TSS, task A
SEL_GATE_A      equ 0x38        ; task gate -> A
SEL_B           equ 0x40        ; task B (called by A)
SEL_D           equ 0x48        ; task D (INT 0x50 through an IDT task gate)
SEL_E           equ 0x50        ; task E (#GP through an IDT task gate)
SEL_NP          equ 0x58        ; TSS descriptor not present
SEL_SHORT       equ 0x60        ; TSS descriptor with limit 0x66
SEL_F           equ 0x68        ; task F: FS not present
SEL_NPDATA      equ 0x70        ; data segment, not present
SEL_G           equ 0x78        ; 16-bit TSS, task G
SEL_GCODE       equ 0x80        ; 32-bit code segment based at task_g
SEL_H           equ 0x88        ; task H: its TSS's T bit is set
VEC_TASK        equ 0x50

ACC_TSS32       equ 0x89
ACC_TSS16       equ 0x81
GATE_TASK0      equ 0x85

%macro FAULT 4 ; name, vector, error, instruction
        TRY     %%resume
%%at:   %4
%%resume:
        CHECK_FAULT %1, %2, %3, %%at
%endmacro

; eflags.NT into EAX
%macro GET_NT 0
        pushfd
        pop     eax
        and     eax, 0x4000
%endmacro

; access byte of a GDT descriptor into EAX
%macro ACCESS 1
        movzx   eax, byte [gdt + %1 + 5]
%endmacro

test_main:
        PRINT   "tasks: start", 10
        SETDESC SEL_A, tss_a, 0x67, ACC_TSS32, 0
        SETGATE SEL_GATE_A, 0, SEL_A, GATE_TASK0, 0
        SETDESC SEL_B, tss_b, 0x67, ACC_TSS32, 0
        SETDESC SEL_D, tss_d, 0x67, ACC_TSS32, 0
        SETDESC SEL_E, tss_e, 0x67, ACC_TSS32, 0
        SETDESC SEL_NP, tss_np, 0x67, ACC_TSS32 & 0x7F, 0
        SETDESC SEL_SHORT, tss_np, 0x66, ACC_TSS32, 0
        SETDESC SEL_F, tss_f, 0x67, ACC_TSS32, 0
        SETDESC SEL_NPDATA, 0, 0xFFFFF, ACC_DATA0 & 0x7F, FL_G | FL_DB
        SETDESC SEL_G, tss_g, 0x2B, ACC_TSS16, 0
        SETDESC SEL_GCODE, task_g, 0xFFFF, ACC_CODE0, FL_DB
        SETIDT  VEC_TASK, 0, SEL_D, GATE_TASK0

        ; --- JMP to a TSS
        mov     eax, 0x11111111
        jmp     SEL_A:0
        CHECK   "jmp.ran", [a_ran], 1
        CHECK   "jmp.tr", [a_tr], SEL_A
        CHECK   "jmp.eax_from_tss", [a_eax], 0xA0A0A0A0
        CHECK   "jmp.nt_clear", [a_nt], 0
        CHECK   "jmp.old_left_available", [a_main_type], ACC_TSS32
        CHECK   "jmp.old_eax_saved", [a_main_eax], 0x11111111
        mov     eax, cr0
        and     eax, 8
        CHECK   "jmp.cr0_ts", eax, 8
        clts
        ACCESS  SEL_A
        CHECK   "jmp.a_available_again", eax, ACC_TSS32
        ACCESS  TSS_SEL
        CHECK   "jmp.main_busy_again", eax, ACC_TSS32 | 2

        ; --- CALL through a task gate; A calls B; IRET back twice
        call    SEL_GATE_A:0
        CHECK   "call.nt_in_a", [a2_nt], 0x4000
        CHECK   "call.link_in_a", [a2_link], TSS_SEL
        CHECK   "call.caller_stays_busy", [a2_main_type], ACC_TSS32 | 2
        CHECK   "nest.b_link", [b_link], SEL_A
        CHECK   "nest.b_nt", [b_nt], 0x4000
        CHECK   "nest.a_busy_in_b", [b_a_type], ACC_TSS32 | 2
        CHECK   "nest.back_in_a", [a2_back], 1
        GET_NT
        CHECK   "call.main_nt_clear", eax, 0
        ACCESS  SEL_A
        CHECK   "call.a_available", eax, ACC_TSS32
        ACCESS  SEL_B
        CHECK   "call.b_available", eax, ACC_TSS32
        xor     eax, eax
        str     ax
        CHECK   "call.tr_main", eax, TSS_SEL

        ; --- INT n through an IDT task gate
        int     VEC_TASK
.after_int:
        CHECK   "int.link", [d_link], TSS_SEL
        CHECK   "int.nt", [d_nt], 0x4000
        CHECK   "int.saved_eip", [d_main_eip], .after_int
        CHECK   "int.esp_untouched", [d_esp], stack_d_top

        ; --- an exception through an IDT task gate
        SETIDT  13, 0, SEL_E, GATE_TASK0
        mov     ax, 0x1234
.gp_at: mov     ds, ax
..@gp_resume:
        SETIDT  13, [exc_stub_table + 13 * 4], KCODE, GATE_INT0
        CHECK   "exc.error_code", [e_err], 0x1234
        CHECK   "exc.on_new_stack", [e_esp], stack_e_top - 4
        CHECK   "exc.saved_eip", [e_main_eip], .gp_at
        CHECK   "exc.nt", [e_nt], 0x4000

        ; --- a 16-bit TSS
        call    SEL_G:0
        CHECK   "tss16.ax", [g_ax], 0x1616
        CHECK   "tss16.link", [g_link], TSS_SEL
        movzx   eax, word [tss_g + 0x0E]
        CHECK   "tss16.saved_ip", eax, task_g.after - task_g
        ACCESS  SEL_G
        CHECK   "tss16.available", eax, ACC_TSS16

        ; --- faults before the switch
        FAULT   "fault.jmp_busy", 13, TSS_SEL, {jmp TSS_SEL:0}
        FAULT   "fault.call_busy", 13, TSS_SEL, {call TSS_SEL:0}
        FAULT   "fault.not_present", 11, SEL_NP, {jmp SEL_NP:0}
        FAULT   "fault.short", 10, SEL_SHORT, {jmp SEL_SHORT:0}
        mov     word [tss], SEL_A       ; back link to a task that is not busy
        pushfd
        or      dword [esp], 0x4000
        popfd
        FAULT   "fault.iret_not_busy", 10, SEL_A, {iretd}
        pushfd
        and     dword [esp], ~0x4000
        popfd
        ACCESS  TSS_SEL
        CHECK   "fault.main_still_busy", eax, ACC_TSS32 | 2

        ; --- a fault after the switch: in the new task, at its first instruction
        TRY     .late_resume
        jmp     SEL_F:0
        jmp     .late_done              ; the main task resumes here
.late_resume:                           ; task F, after the #NP handler
        xor     eax, eax
        str     ax
        mov     [f_tr], eax
        jmp     TSS_SEL:0
.late_done:
        CHECK_FAULT "late.np_fs", 11, SEL_NPDATA, task_f
        CHECK   "late.tr_in_f", [f_tr], SEL_F
        mov     eax, [fault_cs]
        CHECK   "late.cs_of_f", eax, KCODE
        ACCESS  SEL_F
        CHECK   "late.f_available", eax, ACC_TSS32

        ; --- the T bit: #DB in the new task, before its first instruction
        SETDESC SEL_H, tss_h, 0x67, ACC_TSS32, 0
        mov     word [tss_h + 0x64], 1
        SETIDT  1, db_in_task, KCODE, GATE_INT0
        xor     eax, eax
        mov     dr6, eax
        jmp     SEL_H:0
        SETIDT  1, [exc_stub_table + 1 * 4], KCODE, GATE_INT0
        CHECK   "tbit.db_count", [h_db_count], 1
        CHECK   "tbit.db_eip", [h_db_eip], task_h
        CHECK   "tbit.db_tr", [h_db_tr], SEL_H
        mov     eax, [h_db_dr6]
        and     eax, 0xE00F
        CHECK   "tbit.dr6_bt", eax, 0x8000
        CHECK   "tbit.task_ran", [h_ran], 1
        ret

; #DB from the switch to task H: runs in task H, on its stack
db_in_task:
        push    eax
        inc     dword [h_db_count]
        mov     eax, [esp + 4]
        mov     [h_db_eip], eax
        xor     eax, eax
        str     ax
        mov     [h_db_tr], eax
        mov     eax, dr6
        mov     [h_db_dr6], eax
        xor     eax, eax
        mov     dr6, eax
        pop     eax
        iretd

; --- the tasks (CPL 0, flat, interrupts off)

task_a:
        mov     [a_eax], eax
        xor     eax, eax
        str     ax
        mov     [a_tr], eax
        GET_NT
        mov     [a_nt], eax
        ACCESS  TSS_SEL
        mov     [a_main_type], eax
        mov     eax, [tss + 0x28]
        mov     [a_main_eax], eax
        mov     dword [a_ran], 1
        jmp     TSS_SEL:0
        ; entered again by the CALL through the task gate
        GET_NT
        mov     [a2_nt], eax
        movzx   eax, word [tss_a]
        mov     [a2_link], eax
        ACCESS  TSS_SEL
        mov     [a2_main_type], eax
        call    SEL_B:0
        mov     dword [a2_back], 1
        iretd

task_b:
        movzx   eax, word [tss_b]
        mov     [b_link], eax
        GET_NT
        mov     [b_nt], eax
        ACCESS  SEL_A
        mov     [b_a_type], eax
        iretd

task_d:
        movzx   eax, word [tss_d]
        mov     [d_link], eax
        GET_NT
        mov     [d_nt], eax
        mov     eax, [tss + 0x20]
        mov     [d_main_eip], eax
        mov     [d_esp], esp
        iretd

task_e:
        mov     [e_esp], esp
        pop     eax
        mov     [e_err], eax
        GET_NT
        mov     [e_nt], eax
        mov     eax, [tss + 0x20]
        mov     [e_main_eip], eax
        mov     dword [tss + 0x20], ..@gp_resume   ; do not run the MOV DS again
        iretd

task_f:
        nop
        jmp     TSS_SEL:0

task_h:
        mov     dword [h_ran], 1
        jmp     TSS_SEL:0               ; the main task's T bit is clear: no #DB

task_g:                                 ; CS based here; no stack (SP is 16-bit)
        mov     [g_ax], ax
        movzx   eax, word [tss_g]
        mov     [g_link], eax
        iretd
.after:

section .data

; TSS32 eip, esp, eax, fs
%macro TSS32 4
        dd      0, 0, 0, 0, 0, 0, 0     ; link, ESP0, SS0, ESP1, SS1, ESP2, SS2
        dd      0                       ; CR3 (paging is off: not loaded)
        dd      %1, 0x00000002          ; EIP, EFLAGS
        dd      %3, 0, 0, 0             ; EAX ECX EDX EBX
        dd      %2, 0, 0, 0             ; ESP EBP ESI EDI
        dd      KDATA, KCODE, KDATA, KDATA, %4, KDATA   ; ES CS SS DS FS GS
        dd      0                       ; LDT
        dw      0, 0x68                 ; T, I/O map base
%endmacro

align 8
tss_a:  TSS32   task_a, stack_a_top, 0xA0A0A0A0, KDATA
tss_b:  TSS32   task_b, stack_b_top, 0, KDATA
tss_d:  TSS32   task_d, stack_d_top, 0, KDATA
tss_e:  TSS32   task_e, stack_e_top, 0, KDATA
tss_f:  TSS32   task_f, stack_f_top, 0, SEL_NPDATA
tss_np: TSS32   task_b, stack_b_top, 0, KDATA
tss_h:  TSS32   task_h, stack_h_top, 0, KDATA
tss_g:
        dw      0, 0, 0, 0, 0, 0, 0     ; link, SP0, SS0, SP1, SS1, SP2, SS2
        dw      0, 0x0002               ; IP, FLAGS
        dw      0x1616, 0, 0, 0         ; AX CX DX BX
        dw      0, 0, 0, 0              ; SP BP SI DI
        dw      KDATA, SEL_GCODE, KDATA, KDATA   ; ES CS SS DS
        dw      0                       ; LDT

a_ran:          dd 0
a_tr:           dd 0
a_eax:          dd 0
a_nt:           dd 0
a_main_type:    dd 0
a_main_eax:     dd 0
a2_nt:          dd 0
a2_link:        dd 0
a2_main_type:   dd 0
a2_back:        dd 0
b_link:         dd 0
b_nt:           dd 0
b_a_type:       dd 0
d_link:         dd 0
d_nt:           dd 0
d_main_eip:     dd 0
d_esp:          dd 0
e_err:          dd 0
e_esp:          dd 0
e_nt:           dd 0
e_main_eip:     dd 0
f_tr:           dd 0
g_ax:           dd 0
h_ran:          dd 0
h_db_count:     dd 0
h_db_eip:       dd 0
h_db_tr:        dd 0
h_db_dr6:       dd 0
g_link:         dd 0

align 16
                times 1024 db 0
stack_a_top:
                times 1024 db 0
stack_b_top:
                times 1024 db 0
stack_d_top:
                times 1024 db 0
stack_e_top:
                times 1024 db 0
stack_f_top:
                times 1024 db 0
stack_h_top:
