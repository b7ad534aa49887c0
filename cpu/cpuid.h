// What popek tells the guest about the processor (CPUID, the reset value of EDX).
// CPUID advertises exactly what is implemented: an i686-class (family 6) CPU with PSE,
// PAE, PGE and NX paging, SYSENTER/SYSEXIT and an x87 FPU (without FXSAVE); no APIC.
#pragma once

#include <cstdint>

namespace popek::cpu {

// Family 6, model 3, stepping 3 (Pentium II class): EAX of CPUID leaf 1 and EDX at reset.
constexpr uint32_t kCpuidSignature = 0x00000633;

namespace feature {  // CPUID.1:EDX
constexpr uint32_t FPU = 1u << 0;
constexpr uint32_t VME = 1u << 1;
constexpr uint32_t DE = 1u << 2;
constexpr uint32_t PSE = 1u << 3;
constexpr uint32_t TSC = 1u << 4;
constexpr uint32_t MSR = 1u << 5;
constexpr uint32_t PAE = 1u << 6;
constexpr uint32_t CX8 = 1u << 8;
constexpr uint32_t SEP = 1u << 11;
constexpr uint32_t PGE = 1u << 13;
constexpr uint32_t CMOV = 1u << 15;
constexpr uint32_t PAT = 1u << 16;
}  // namespace feature

// The leaf-1 EDX feature set popek implements today.
constexpr uint32_t kCpuidFeatures = feature::FPU | feature::PSE | feature::TSC | feature::MSR |
                                    feature::PAE | feature::CX8 | feature::SEP | feature::PGE |
                                    feature::CMOV | feature::PAT;
// CPUID.80000001h:EDX.
constexpr uint32_t kCpuidExtNX = 1u << 20;

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

CpuidResult cpuid(uint32_t leaf, uint32_t subleaf);

}  // namespace popek::cpu
