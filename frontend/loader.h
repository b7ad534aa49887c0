// Guest loaders: a raw firmware image (-bios), and for -kernel a Linux bzImage (32-bit
// boot protocol) or a multiboot v1 kernel.
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
// read-only just below 4 GiB and (its last 128 KiB) just below 1 MiB, there as writable
// RAM reloaded at each reset when the image has 128 KiB or more (SeaBIOS; bus/bus.h);
// the CPU starts at its reset vector F000:FFF0 (Cpu::reset).
constexpr size_t kBiosGranule = 4096;
constexpr size_t kBiosMaxSize = 1u << 20;
void load_bios(bus::Bus& bus, const std::string& path);

// What both direct kernel loaders build: a GDT at kFlatGdtAddr with null, null, a flat
// 32-bit execute/read code segment (kFlatCode) and a flat 32-bit read/write data segment
// (kFlatData); `s` in protected mode without paging, CS = kFlatCode, the other segment
// registers kFlatData, EFLAGS = 0x2, the general registers 0, EIP = entry, IDTR 0/0x3FF,
// A20 on. The loaders then set the registers their protocols define.
constexpr uint32_t kFlatGdtAddr = 0x8000;
constexpr uint16_t kFlatCode = 0x10, kFlatData = 0x18;
void enter_flat_protected_mode(bus::Bus& bus, cpu::CpuState& s, uint32_t entry);

// Little-endian fields of an image in memory (the caller checks the bounds), and
// addresses as "0x..." for error messages.
uint32_t rd32(const std::vector<uint8_t>& image, size_t off);
uint16_t rd16(const std::vector<uint8_t>& image, size_t off);
std::string hex(uint64_t v);

// Where the multiboot loader puts its own structures (below 0xA0000, above the BDA).
namespace mb {
constexpr uint32_t kGdtAddr = kFlatGdtAddr;  // null, null, code 0x10, data 0x18
constexpr uint32_t kMmapAddr = 0x8100;       // memory map entries
constexpr uint32_t kLoaderNameAddr = 0x8200; // "popek"
constexpr uint32_t kModsAddr = 0x8300;       // module list
constexpr uint32_t kInfoAddr = 0x9000;       // struct multiboot_info
constexpr uint32_t kStringsAddr = 0x9100;    // command line, then module strings
constexpr uint32_t kAreaEnd = 0xA000;        // end of the area kernels may not load into
constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr uint32_t kBootMagic = 0x2BADB002;  // EAX at entry
constexpr uint32_t kSearchLimit = 8192;      // the header lies in the first 8 KiB
constexpr uint16_t kCodeSelector = kFlatCode;
constexpr uint16_t kDataSelector = kFlatData;
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

// Where the Linux loader puts its own structures and the limits it places within.
namespace lx {
constexpr uint32_t kGdtAddr = kFlatGdtAddr;    // null, null, __BOOT_CS 0x10, __BOOT_DS 0x18
constexpr uint32_t kStackTop = 0x10000;        // ESP at entry (the protocol asks for none)
constexpr uint32_t kBootParamsAddr = 0x10000;  // struct boot_params, the "zero page" (4 KiB)
constexpr uint32_t kCmdlineAddr = 0x20000;     // the -append string
constexpr uint32_t kCmdlineAreaEnd = 0x9F000;  // below the EBDA
constexpr uint32_t kDefaultLoadAddr = 0x100000;
constexpr uint32_t kLowmemLimit = 0x38000000;  // 896 MiB: what a 32-bit kernel maps directly
constexpr uint16_t kMinProtocol = 0x0202;
constexpr uint16_t kCodeSelector = kFlatCode;
constexpr uint16_t kDataSelector = kFlatData;
constexpr uint8_t kTypeOfLoader = 0xFF;        // "undefined" boot loader
// struct setup_header (offsets in the image and in boot_params alike).
constexpr uint32_t kSetupSects = 0x1F1;
constexpr uint32_t kSysSize = 0x1F4;
constexpr uint32_t kBootFlag = 0x1FE;          // 0xAA55
constexpr uint32_t kJump = 0x200;              // its second byte ends the setup header
constexpr uint32_t kHeaderMagicOff = 0x202;    // "HdrS"
constexpr uint32_t kVersion = 0x206;
constexpr uint32_t kTypeOfLoaderOff = 0x210;
constexpr uint32_t kLoadFlags = 0x211;
constexpr uint32_t kCode32Start = 0x214;
constexpr uint32_t kRamdiskImage = 0x218;
constexpr uint32_t kRamdiskSize = 0x21C;
constexpr uint32_t kHeapEndPtr = 0x224;
constexpr uint32_t kCmdLinePtr = 0x228;
constexpr uint32_t kInitrdAddrMax = 0x22C;     // 2.03+
constexpr uint32_t kKernelAlignment = 0x230;   // 2.05+
constexpr uint32_t kRelocatable = 0x234;       // 2.05+
constexpr uint32_t kCmdlineSize = 0x238;       // 2.06+
constexpr uint32_t kPrefAddress = 0x258;       // 2.10+
constexpr uint32_t kInitSize = 0x260;          // 2.10+
// struct boot_params outside the setup header.
constexpr uint32_t kExtMemK = 0x002;           // screen_info.ext_mem_k
constexpr uint32_t kAltMemK = 0x1E0;
constexpr uint32_t kE820Entries = 0x1E8;
constexpr uint32_t kE820Table = 0x2D0;         // entries of {u64 addr, u64 size, u32 type}
// loadflags.
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint32_t kE820Ram = 1, kE820Reserved = 2;
}  // namespace lx

// Whether `image` is a Linux bzImage/zImage: boot flag 0xAA55 and "HdrS" at 0x202.
bool is_linux_image(const std::vector<uint8_t>& image);

// What load_linux placed, for the Machine and the tests.
struct LinuxImage {
  uint16_t protocol = 0;      // boot protocol version, e.g. 0x020f
  uint32_t kernel_addr = 0;   // where the protected-mode kernel was loaded; EIP at entry
  uint32_t kernel_size = 0;   // bytes loaded there
  uint32_t kernel_end = 0;    // end of what the kernel occupies while it decompresses
  uint32_t boot_params = 0;   // ESI at entry
  uint32_t cmdline_addr = 0;
  uint32_t initrd_addr = 0;   // 0 without -initrd
  uint32_t initrd_size = 0;
};

// Load the Linux kernel cfg.kernel_path with the 32-bit boot protocol (the real-mode setup
// code is not run): the protected-mode part at 1 MiB, or at its preferred address if it is
// relocatable, boot_params with an e820 map at lx::kBootParamsAddr, the command line, and
// -initrd as high in low memory as fits. `s` gets the protocol's entry state: flat
// protected mode without paging, CS 0x10, DS/ES/SS 0x18, ESI = boot_params, EBX = EBP =
// EDI = 0, interrupts off. Throws LoadError.
LinuxImage load_linux(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg);

// -kernel: a Linux image goes to load_linux, anything else to load_multiboot.
void load_kernel(bus::Bus& bus, cpu::CpuState& s, const MachineConfig& cfg);

}  // namespace popek::frontend
