// Guest loaders: a raw firmware image (-bios) and a multiboot v1 kernel (-kernel).
//
// Loaders touch only the bus (RAM, ROM) and the CPU's architectural state; the Machine
// then tells the CPU about the new mode (Cpu::set_cr0, update_cpl).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "cpu/cpu_state.h"
#include "frontend/machine_config.h"

namespace popek::frontend {

// A guest image popek cannot load. what() is one line naming the option and the file
// ("-kernel k.elf: not a 32-bit ELF file"); the caller prefixes "popek: ".
struct LoadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whole contents of `path`; `option` ("-kernel") names it in errors. Empty files fail.
std::vector<uint8_t> read_image(const char* option, const std::string& path);

// -bios: the image must be a non-zero multiple of 4 KiB, at most 1 MiB. It is mapped
// read-only just below 4 GiB and (its last 128 KiB) just below 1 MiB; the CPU starts at
// its reset vector F000:FFF0 (Cpu::reset).
constexpr size_t kBiosGranule = 4096;
constexpr size_t kBiosMaxSize = 1u << 20;
void load_bios(bus::Bus& bus, const std::string& path);

// Where the multiboot loader puts its own structures (below 0xA0000, above the BDA).
namespace mb {
constexpr uint32_t kGdtAddr = 0x8000;        // null, null, code 0x10, data 0x18
constexpr uint32_t kMmapAddr = 0x8100;       // memory map entries
constexpr uint32_t kLoaderNameAddr = 0x8200; // "popek"
constexpr uint32_t kModsAddr = 0x8300;       // module list
constexpr uint32_t kInfoAddr = 0x9000;       // struct multiboot_info
constexpr uint32_t kStringsAddr = 0x9100;    // command line, then module strings
constexpr uint32_t kAreaEnd = 0xA000;        // end of the area kernels may not load into
constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr uint32_t kBootMagic = 0x2BADB002;  // EAX at entry
constexpr uint32_t kSearchLimit = 8192;      // the header lies in the first 8 KiB
constexpr uint16_t kCodeSelector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
// Header flags.
constexpr uint32_t kFlagPageAlign = 1u << 0;
constexpr uint32_t kFlagMemInfo = 1u << 1;
constexpr uint32_t kFlagVideo = 1u << 2;
constexpr uint32_t kFlagAoutKludge = 1u << 16;
// Info flags.
constexpr uint32_t kInfoMem = 1u << 0;
constexpr uint32_t kInfoCmdline = 1u << 2;
constexpr uint32_t kInfoMods = 1u << 3;
constexpr uint32_t kInfoMmap = 1u << 6;
constexpr uint32_t kInfoLoaderName = 1u << 9;
// mem_lower in KiB: conventional memory up to the extended BIOS data area at 0x9FC00.
constexpr uint32_t kMemLowerKiB = 639;
}  // namespace mb

// What load_multiboot placed, for the Machine and the tests.
struct MultibootImage {
  uint32_t entry = 0;         // EIP at entry
  uint32_t info_addr = 0;     // EBX at entry
  uint32_t kernel_start = 0;  // lowest loaded physical address
  uint32_t kernel_end = 0;    // end of the highest segment, bss included
  uint32_t module_start = 0;  // the -initrd module, or 0
  uint32_t module_end = 0;
};

// Load the multiboot v1 kernel cfg.kernel_path (ELF32 i386 ET_EXEC, or any format with
// the a.out kludge), its -initrd module and the multiboot information into RAM, and set
// `s` to the state the spec defines at entry: protected mode without paging, flat CS 0x10
// and data 0x18 from a GDT at mb::kGdtAddr, EAX = 0x2BADB002, EBX = the info address,
// EFLAGS = 0x2, A20 on. Throws LoadError.
MultibootImage load_multiboot(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg);

}  // namespace popek::frontend
