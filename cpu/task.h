// Hardware task switches (SDM vol. 3 §7.3): far JMP/CALL to a TSS descriptor or a task
// gate, interrupts and exceptions through a task gate in the IDT, IRET with NT = 1.
#pragma once

#include "cpu/cpu.h"

namespace popek::cpu {

// What started a task switch: decides the busy bits, NT and the back link (SDM vol. 3
// table 7-2).
enum class TaskReason : uint8_t { Jmp, Call, Iret, Interrupt };

// Far JMP or CALL to `sel`, whose descriptor `d` is a TSS or a task gate. The old task
// resumes at `return_eip` (the instruction after the JMP/CALL).
Status task_jmp_call(Cpu& c, uint16_t sel, const Descriptor& d, TaskReason why, uint32_t return_eip);

// IRET with NT = 1: back to the task named by the current TSS's back link.
Status task_return(Cpu& c, uint32_t return_eip);

// An interrupt or exception through the task gate `gate` of the IDT. `ext` is the EXT bit
// of error codes (1 unless INT n/INT3/INTO); an exception's error code is pushed on the
// new task's stack.
Status task_gate_interrupt(Cpu& c, const Descriptor& gate, uint32_t ext, bool has_error,
                           uint32_t error, uint32_t return_eip);

}  // namespace popek::cpu
