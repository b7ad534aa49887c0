// The host's x87 FPU as the execution unit for the guest's x87 arithmetic.
//
// The host is x86-64 and has the same FPU, so an x87 instruction's exact result
// (rounding under the guest's precision and rounding control, denormal and unsupported
// operands, the masked and unmasked responses, C0-C3, stack faults) is what the host
// computes when it runs the same instruction on the guest's FPU image. host_run() loads
// an image with FRSTOR, runs the one instruction, and stores the image back with FNSAVE
// (non-waiting: an unmasked exception only sets ES in the image, it never traps on the
// host). The caller keeps the image free of pending unmasked exceptions on entry, so
// FRSTOR cannot arm a trap either.
#pragma once

#include <cstdint>

namespace popek::cpu::x87 {

// The FNSAVE/FRSTOR image in its 32-bit protected-mode layout (the 64-bit host's
// default): CW at 0, SW at 4, TW at 8, pointers at 12..27, ST(0)..ST(7) at 28 + 10*i.
struct alignas(16) HostImage {
  uint8_t b[108];
};
constexpr unsigned kImgCw = 0, kImgSw = 4, kImgTw = 8, kImgRegs = 28;

// Runs the x87 instruction with ESC byte 0xD8 + `esc` and ModRM `modrm` on the host.
// A memory form (ModRM mod != 3) addresses `mem` (at least 16 bytes). `flags` carries
// EFLAGS in and out: bits 0-7 (SF ZF AF PF CF) and OF in bit 11; FCMOVcc reads them,
// FCOMI writes them. Only encodings the guest decoded as x87 instructions other than
// the environment and control instructions may be run.
void host_run(unsigned esc, unsigned modrm, HostImage& img, uint8_t* mem, uint32_t& flags);

}  // namespace popek::cpu::x87
