; Multiboot v1 entry for the C guests: a stack, then kmain(magic, info), then a clean
; halt with interrupts off (popek reports it and exits 0; QEMU would idle forever, so
; the C guests exit through isa-debug-exit themselves when run under a harness).
bits 32
section .multiboot
align 4
        dd 0x1BADB002                   ; magic
        dd 0x00000003                   ; flags: page-align modules, memory info
        dd -(0x1BADB002 + 0x00000003)   ; checksum

section .text
global _start
extern kmain
_start:
        mov esp, stack_top
        push ebx                        ; multiboot info
        push eax                        ; magic
        call kmain
        cli
.halt:  hlt
        jmp .halt

section .bss
align 16
        resb 65536
stack_top:
