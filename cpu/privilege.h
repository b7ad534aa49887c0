// Helpers shared by the privilege-changing transfers (interrupts, call gates).
#pragma once

#include "cpu/cpu.h"

namespace popek::cpu {

// Read the stack for privilege level `new_cpl` from the current TSS and check the new
// SS (SDM vol. 3 §6.12.1): #TS with the selector (+EXT) for a bad TSS or SS, #SS for a
// not-present SS. On success `cache` is the descriptor cache to load into SS.
Status inner_stack(Cpu& c, unsigned new_cpl, uint32_t ext, uint16_t& ss_sel, uint32_t& esp,
                   Descriptor& ssd, SegmentCache& cache);

}  // namespace popek::cpu
