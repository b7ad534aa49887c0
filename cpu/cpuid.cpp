#include "cpu/cpuid.h"

#include <cstring>

namespace popek::cpu {

namespace {
uint32_t chars(const char* s) {
  uint32_t v;
  std::memcpy(&v, s, 4);
  return v;
}
}  // namespace

// Leaf 0: highest basic leaf and vendor; leaf 1: signature and features. Intel parts
// answer leaves above the maximum with the highest basic leaf's data; popek answers
// zeros (a departure a guest can only see by asking for a leaf it was told is absent).
CpuidResult cpuid(uint32_t leaf, uint32_t /*subleaf*/) {
  switch (leaf) {
    case 0:
      // "PopekVirtCPU", spelled in EBX, EDX, ECX order.
      return {1, chars("Pope"), chars("tCPU"), chars("kVir")};
    case 1:
      return {kCpuidSignature, 0, 0, kCpuidFeatures};
    case 0x80000000:
      return {0x80000001, 0, 0, 0};
    case 0x80000001:
      return {0, 0, 0, kCpuidExtNX};
    default:
      return {0, 0, 0, 0};
  }
}

}  // namespace popek::cpu
