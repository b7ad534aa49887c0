; v86.asm - virtual-8086 mode under a small monitor.
;
; A real-mode routine, copied below 1 MiB, runs in virtual-8086 mode, entered
; by IRETD from CPL 0 (VM=1 in the popped EFLAGS, SS:ESP, ES, DS, FS, GS
; popped too).  With IOPL=3: OUT and OUTS to a port the TSS I/O bitmap allows
; pass, OUT/IN to a denied port #GP(0) to the monitor (IOPL does not matter in
; virtual-8086 mode); INT n goes through a DPL3 IDT gate to the CPL-0 monitor
; on the TSS's ring-0 stack with the virtual-8086 frame (GS FS DS ES SS ESP
; EFLAGS CS EIP; data segment registers null in the handler, VM clear), and
; the monitor reflects it to the real-mode handler of the IVT; CLI, STI,
; PUSHF and IRET run natively.  With IOPL=0: CLI, STI, PUSHF, POPF, INT n and
; IRET #GP(0) to the monitor, which emulates them with a virtual IF.  A #DE
; is reflected to the real-mode handler too.  The monitor prints each event.

%include "lib/mb32.inc"

V86_SEG         equ 0x2000              ; the routine runs at 2000:0000
V86_LIN         equ V86_SEG * 16
V86_SS          equ 0x3000
V86_SP          equ 0xFFF0
VEC_REFLECT     equ 0x21                ; reflected to the IVT
VEC_IOPL0       equ 0x22                ; the monitor drops IOPL to 0
VEC_EXIT        equ 0x23                ; back to the protected-mode test

; offset of a label of the routine (for 16-bit addressing)
%define OFF(l) ((l) - v86_start)

test_main:
        PRINT   "v86: start", 10
        ; the routine and its IVT entries
        mov     esi, v86_start
        mov     edi, V86_LIN
        mov     ecx, v86_end - v86_start
        rep movsb
        mov     dword [VEC_REFLECT * 4], (V86_SEG << 16) | OFF(v86_int21)
        mov     dword [0 * 4], (V86_SEG << 16) | OFF(v86_de)
        ; the monitor's gates
        SETIDT  VEC_REFLECT, mon_int21, KCODE, GATE_INT3
        SETIDT  VEC_IOPL0, mon_iopl0, KCODE, GATE_INT3
        SETIDT  13, mon_gp, KCODE, GATE_INT0
        SETIDT  0, mon_de, KCODE, GATE_INT0

        call    run_v86

        SETIDT  13, [exc_stub_table + 13 * 4], KCODE, GATE_INT0
        SETIDT  0, [exc_stub_table + 0 * 4], KCODE, GATE_INT0
        mov     eax, [int_eflags]
        and     eax, 0x23000
        CHECK   "int.frame_vm_iopl3", eax, 0x23000
        CHECK   "int.frame_cs", [int_cs], V86_SEG
        CHECK   "int.frame_ss", [int_ss], V86_SS
        CHECK   "int.frame_ds", [int_fds], V86_SEG
        CHECK   "int.frame_es", [int_fes], V86_SEG
        CHECK   "int.frame_fs", [int_ffs], 0x1111
        CHECK   "int.frame_gs", [int_fgs], 0x2222
        CHECK   "int.handler_ds_null", [int_ds], 0
        CHECK   "int.handler_gs_null", [int_gs], 0
        CHECK   "int.handler_vm_clear", [int_vm], 0
        CHECK   "int.ring0_stack", [int_esp], tss_stack_top - 36
        movzx   eax, word [V86_LIN + OFF(v86_bx1)]
        CHECK   "reflect.iopl3", eax, 0x1235
        movzx   eax, word [V86_LIN + OFF(v86_flags1)]
        and     eax, 0x3000
        CHECK   "pushf.iopl3_native", eax, 0x3000
        CHECK   "io.denied", [io_denied], 2
        movzx   eax, word [V86_LIN + OFF(v86_flags2)]
        and     eax, 0x0200
        CHECK   "pushf.iopl0_virtual_if_clear", eax, 0
        movzx   eax, word [V86_LIN + OFF(v86_bx2)]
        CHECK   "reflect.iopl0", eax, 0x4322
        movzx   eax, word [V86_LIN + OFF(v86_de_hit)]
        CHECK   "de.reflected", eax, 1
        movzx   eax, word [V86_LIN + OFF(v86_after_de)]
        CHECK   "de.skipped", eax, 0x77
        CHECK   "vif.after_sti", [vif], 1
        CHECK   "gp.count", [gp_count], 11
        ret

; Enter virtual-8086 mode by IRETD; VEC_EXIT comes back here.
run_v86:
        pushad
        mov     [mon_esp], esp
        push    dword 0x2222            ; GS
        push    dword 0x1111            ; FS
        push    dword V86_SEG           ; DS
        push    dword V86_SEG           ; ES
        push    dword V86_SS            ; SS
        push    dword V86_SP            ; ESP
        push    dword 0x00023002        ; EFLAGS: VM, IOPL 3, IF 0
        push    dword V86_SEG           ; CS
        push    dword 0                 ; EIP
        iretd
v86_exit:
        mov     ax, KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     esp, [mon_esp]
        popad
        ret

; --- the monitor (CPL 0).  Frame from virtual-8086 mode at EBP:
;   +0 EIP  +4 CS  +8 EFLAGS  +12 ESP  +16 SS  +20 ES  +24 DS  +28 FS  +32 GS
F_EIP   equ 0
F_CS    equ 4
F_FL    equ 8
F_ESP   equ 12
F_SS    equ 16

; the routine's CS:IP in ESI (linear)
%macro CSIP_LINEAR 0
        movzx   esi, word [ebp + F_CS]
        shl     esi, 4
        movzx   eax, word [ebp + F_EIP]
        add     esi, eax
%endmacro

; linear address of the routine's SS:SP in ECX
%macro SSSP_LINEAR 0
        movzx   ecx, word [ebp + F_SS]
        shl     ecx, 4
        movzx   eax, word [ebp + F_ESP]
        add     ecx, eax
%endmacro

; reflect: deliver vector EBX to the routine as a real-mode INT would (FLAGS,
; CS, IP=AX pushed on its stack, CS:IP from the IVT, IF and TF cleared).
reflect:
        push    eax
        sub     word [ebp + F_ESP], 6
        SSSP_LINEAR
        pop     eax
        mov     [ecx], ax
        mov     dx, [ebp + F_CS]
        mov     [ecx + 2], dx
        mov     edx, [ebp + F_FL]
        and     edx, ~0x0200
        movzx   eax, byte [vif]
        shl     eax, 9
        or      edx, eax
        mov     [ecx + 4], dx
        and     dword [ebp + F_FL], ~0x0300
        mov     byte [vif], 0
        mov     eax, [ebx * 4]
        movzx   edx, ax
        mov     [ebp + F_EIP], edx
        shr     eax, 16
        mov     [ebp + F_CS], eax
        ret

mon_print_csip:
        PRINTHEX 16, [ebp + F_CS]
        PRINT   ":"
        PRINTHEX 16, [ebp + F_EIP]
        ret

mon_int21:                              ; INT 21h with IOPL 3: straight through the IDT
        mov     [ss:int_esp], esp
        push    eax
        mov     eax, ds
        mov     [ss:int_ds], eax
        mov     eax, gs
        mov     [ss:int_gs], eax
        pushfd
        pop     eax
        and     eax, 0x20000
        mov     [ss:int_vm], eax
        pop     eax
        pushad
        lea     ebp, [esp + 32]
        mov     ax, KDATA
        mov     ds, ax
        mov     es, ax
        mov     eax, [ebp + F_FL]
        mov     [int_eflags], eax
        mov     eax, [ebp + F_CS]
        mov     [int_cs], eax
        mov     eax, [ebp + F_SS]
        mov     [int_ss], eax
        mov     eax, [ebp + 20]
        mov     [int_fes], eax
        mov     eax, [ebp + 24]
        mov     [int_fds], eax
        mov     eax, [ebp + 28]
        mov     [int_ffs], eax
        mov     eax, [ebp + 32]
        mov     [int_fgs], eax
        PRINT   "mon: int 21 from "
        call    mon_print_csip
        PRINT   10
        mov     ebx, VEC_REFLECT
        mov     eax, [ebp + F_EIP]
        call    reflect
        popad
        iretd

mon_iopl0:
        and     dword [esp + F_FL], ~0x3000
        PRINT   "mon: iopl 0", 10
        iretd

mon_de:                                 ; #DE: reflected to the routine's handler
        pushad
        lea     ebp, [esp + 32]
        mov     ax, KDATA
        mov     ds, ax
        mov     es, ax
        PRINT   "mon: #DE at "
        call    mon_print_csip
        PRINT   10
        mov     ebx, 0
        mov     eax, [ebp + F_EIP]
        call    reflect
        popad
        iretd

mon_gp:                                 ; #GP(0): emulate the instruction
        pushad
        lea     ebp, [esp + 36]         ; past the error code
        mov     ax, KDATA
        mov     ds, ax
        mov     es, ax
        inc     dword [gp_count]
        CSIP_LINEAR
        movzx   ebx, byte [esi]
        PRINT   "mon: #GP("
        PRINTHEX 16, [ebp - 4]
        PRINT   ") at "
        call    mon_print_csip
        PRINT   " op "
        PRINTHEX 8, ebx
        PRINT   10
        cmp     bl, 0xFA
        je      .cli
        cmp     bl, 0xFB
        je      .sti
        cmp     bl, 0x9C
        je      .pushf
        cmp     bl, 0x9D
        je      .popf
        cmp     bl, 0xCD
        je      .int
        cmp     bl, 0xCF
        je      .iret
        cmp     bl, 0xE6
        je      .io_imm
        cmp     bl, 0xE4
        je      .io_imm
        PRINT   "mon: cannot emulate", 10
        jmp     io_exit_fail
.cli:   mov     byte [vif], 0
        inc     word [ebp + F_EIP]
        jmp     .done
.sti:   mov     byte [vif], 1
        inc     word [ebp + F_EIP]
        jmp     .done
.pushf: sub     word [ebp + F_ESP], 2
        SSSP_LINEAR
        mov     edx, [ebp + F_FL]
        and     edx, ~0x0200
        movzx   eax, byte [vif]
        shl     eax, 9
        or      edx, eax
        mov     [ecx], dx
        inc     word [ebp + F_EIP]
        jmp     .done
.popf:  SSSP_LINEAR
        movzx   edx, word [ecx]
        add     word [ebp + F_ESP], 2
        call    .set_flags
        inc     word [ebp + F_EIP]
        jmp     .done
.int:   movzx   ebx, byte [esi + 1]
        cmp     ebx, VEC_EXIT
        je      v86_exit
        movzx   eax, word [ebp + F_EIP]
        add     eax, 2
        call    reflect
        jmp     .done
.iret:  SSSP_LINEAR
        movzx   eax, word [ecx]
        mov     [ebp + F_EIP], eax
        movzx   eax, word [ecx + 2]
        mov     [ebp + F_CS], eax
        movzx   edx, word [ecx + 4]
        add     word [ebp + F_ESP], 6
        call    .set_flags
        jmp     .done
.io_imm:
        inc     dword [io_denied]
        add     word [ebp + F_EIP], 2
.done:  popad
        add     esp, 4
        iretd
; FLAGS image in DX: the arithmetic flags and DF go to the routine, IF to vif
.set_flags:
        mov     eax, edx
        shr     eax, 9
        and     eax, 1
        mov     [vif], al
        and     edx, 0x0CD5
        and     dword [ebp + F_FL], ~0x0CD5
        or      [ebp + F_FL], edx
        ret

; --- the routine (16-bit, runs at V86_SEG:0000)
[bits 16]
v86_start:
        mov     al, 'v'
        out     0xE9, al                ; allowed by the I/O bitmap
        mov     al, 10
        out     0xE9, al
        mov     si, OFF(v86_msg)
        mov     dx, 0xE9
        mov     cx, v86_msg_end - v86_msg
        rep outsb                       ; allowed too
        mov     ax, 0x1234
        int     VEC_REFLECT
        mov     [OFF(v86_bx1)], bx
        sti                             ; IOPL 3: native
        cli
        pushf
        pop     ax
        mov     [OFF(v86_flags1)], ax
        out     0x80, al                ; denied by the bitmap: #GP
        in      al, 0x80                ; denied: #GP
        int     VEC_IOPL0
        cli                             ; IOPL 0 from here: #GP, emulated
        pushf
        pop     ax
        mov     [OFF(v86_flags2)], ax
        sti
        pushf
        popf
        mov     ax, 0x4321
        int     VEC_REFLECT             ; #GP, reflected by the monitor
        mov     [OFF(v86_bx2)], bx
        mov     ax, 7
        xor     cx, cx
        div     cl                      ; #DE, reflected
        mov     word [OFF(v86_after_de)], 0x77
        int     VEC_EXIT

v86_int21:                              ; the real-mode handler
        mov     bx, ax
        inc     bx
        iret

v86_de:                                 ; skips the 2-byte DIV
        push    bp
        mov     bp, sp
        add     word [bp + 2], 2
        mov     word [cs:OFF(v86_de_hit)], 1
        pop     bp
        iret

v86_msg:        db "outs", 10
v86_msg_end:
align 2
v86_bx1:        dw 0
v86_bx2:        dw 0
v86_flags1:     dw 0
v86_flags2:     dw 0
v86_de_hit:     dw 0
v86_after_de:   dw 0
v86_end:
[bits 32]

section .data
mon_esp:        dd 0
vif:            dd 0
align 4
gp_count:       dd 0
io_denied:      dd 0
int_esp:        dd 0
int_ds:         dd 0xFFFF
int_gs:         dd 0xFFFF
int_vm:         dd 0xFFFF
int_eflags:     dd 0
int_cs:         dd 0
int_ss:         dd 0
int_fes:        dd 0
int_fds:        dd 0
int_ffs:        dd 0
int_fgs:        dd 0
