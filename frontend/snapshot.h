// Machine snapshots: the whole machine in one file, restored bit for bit
// (Machine::save_snapshot / Machine::load_snapshot, defined in snapshot.cpp).
//
// File layout (integers little-endian):
//
//   "POPEKSNP"             8 bytes of magic
//   u32 format version     kSnapshotFormat
//   u32 section count
//   section * count, each:
//     u16 name length, name bytes
//     u32 section version  the saved state's own version (a device's State::kVersion)
//     u64 payload length
//     u64 payload checksum snapshot_checksum() of the payload
//     payload
//
// Sections, in this order:
//   header      u32 n, then n * (u16 key length, key, u32 value length, value): the
//               machine configuration that must match ("machine.*": RAM size, VGA, serial
//               ports, drives...), content hashes of the images the run depends on
//               ("image.*": firmware, VGA BIOS, -kernel, -initrd, each disk image as it
//               was at start), and notes that need not match ("note.*": engine, count)
//   cpu         CpuState (registers, descriptor caches, CRs, MSRs, x87, instruction count)
//   ram         u64 RAM size, then (u32 page number, 4096 bytes) for each page that is
//               not all zeros, in increasing order
//   bus         the A20 gate
//   dev.NAME    each device's state (Machine::visit_devices), in that order
//   clock       u64 idle instructions, u64 next sequence number, u32 n, then n *
//               (u16 name length, timer name, u64 deadline ns, u64 sequence number):
//               the pending events (bus/clock.h)
//   run         the run loop's turn: u8 in_turn, u64 turn_until
//   disk.N      per drive on IDE index N: u64 sectors, u32 n, then n * (u64 LBA, 512
//               bytes): the -snapshot overlay (sectors written since start)
//
// A file is written to a temporary file in the same directory and renamed over the
// target, so a reader never sees half a snapshot. A load reads and checks the whole file
// (magic, versions, checksums, configuration, image hashes, every state's bytes) before
// it changes anything; the first problem becomes a SnapshotError naming it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace popek::frontend {

constexpr uint32_t kSnapshotFormat = 1;

// One line: the file, then what is wrong ("snap.pvm: section dev.pit is corrupt
// (checksum mismatch)").
struct SnapshotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The 64-bit checksum of a section's payload and the content hash of images.
uint64_t snapshot_checksum(const uint8_t* p, size_t n);

}  // namespace popek::frontend
