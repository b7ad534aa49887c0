// One host stub per x87 encoding: 8 ESC bytes x (8 memory forms addressing [rsi] + 64
// register forms). Each is an instantiation of host_stub with the encoding as template
// arguments, so the table is built at compile time and no code is generated at run time.
#include "cpu/ops/x87_host.h"

#include <array>
#include <cstddef>
#include <utility>

namespace popek::cpu::x87 {

namespace {

using Stub = void (*)(HostImage&, uint8_t*, uint16_t&);

// ax in: AH = EFLAGS bits 0-7, AL = 0x7F to set OF (0 to clear it).
// ax out: AH = EFLAGS bits 0-7, AL = OF.
template <unsigned Esc, unsigned Modrm>
void host_stub(HostImage& img, uint8_t* mem, uint16_t& ax) {
  asm volatile(
      "frstor (%[img])\n\t"
      "addb $1, %%al\n\t"
      "sahf\n\t"
      ".byte %c[esc], %c[modrm]\n\t"
      "lahf\n\t"
      "seto %%al\n\t"
      "fnsave (%[img])\n\t"
      : "+a"(ax)
      : [img] "r"(img.b), "S"(mem), [esc] "i"(0xD8 + Esc), [modrm] "i"(Modrm)
      : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
        "st(7)");
}

constexpr unsigned kFormsPerEsc = 8 + 64;

template <std::size_t I>
constexpr Stub stub_for() {
  constexpr unsigned esc = I / kFormsPerEsc;
  constexpr unsigned form = I % kFormsPerEsc;
  // Memory forms: mod 00, rm 110 = [rsi] in 64-bit mode.
  constexpr unsigned modrm = form < 8 ? (form << 3) | 6 : 0xC0 + (form - 8);
  return &host_stub<esc, modrm>;
}

template <std::size_t... I>
constexpr std::array<Stub, sizeof...(I)> make_table(std::index_sequence<I...>) {
  return {stub_for<I>()...};
}

constexpr auto kStubs = make_table(std::make_index_sequence<8 * kFormsPerEsc>{});

}  // namespace

void host_run(unsigned esc, unsigned modrm, HostImage& img, uint8_t* mem, uint32_t& flags) {
  const unsigned form = modrm >= 0xC0 ? 8 + (modrm - 0xC0) : (modrm >> 3) & 7;
  uint16_t ax = static_cast<uint16_t>(((flags & 0xFF) << 8) | ((flags & 0x800) ? 0x7F : 0));
  kStubs[(esc & 7) * kFormsPerEsc + form](img, mem, ax);
  flags = (flags & ~0x8FFu) | (ax >> 8) | ((ax & 1) ? 0x800u : 0u);
}

}  // namespace popek::cpu::x87
