// The 8237 DMA register file, driven through the bus as firmware drives it at POST.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/i8237.h"
#include "devices/pci_absent.h"
#include "devices/post_port.h"

namespace popek::devices {
namespace {

TEST(I8237, AddressAndCountGoThroughTheFlipFlop) {
  bus::Bus bus(1 << 20);
  I8237 dma(bus);
  bus.io_write(0x0C, 1, 0);     // clear the flip-flop
  bus.io_write(0x04, 1, 0x34);  // channel 2 address, low then high
  bus.io_write(0x04, 1, 0x12);
  bus.io_write(0x05, 1, 0xFF);  // channel 2 count
  bus.io_write(0x05, 1, 0x01);
  bus.io_write(0x0C, 1, 0);
  EXPECT_EQ(bus.io_read(0x04, 1), 0x34u);
  EXPECT_EQ(bus.io_read(0x04, 1), 0x12u);
  EXPECT_EQ(bus.io_read(0x05, 1), 0xFFu);
  EXPECT_EQ(bus.io_read(0x05, 1), 0x01u);
  // DMA2 sits on the even ports from 0xC0: channel 5's address is register 2, port 0xC4.
  bus.io_write(0xD8, 1, 0);
  bus.io_write(0xC4, 1, 0xCD);
  bus.io_write(0xC4, 1, 0xAB);
  EXPECT_EQ(dma.state.ctl[1].base_addr[1], 0xABCD);
}

TEST(I8237, MasksModesAndMasterClear) {
  bus::Bus bus(1 << 20);
  I8237 dma(bus);
  dma.reset();
  EXPECT_EQ(bus.io_read(0x0F, 1), 0xFFu);  // all masked after reset
  bus.io_write(0x0E, 1, 0);                // clear all masks
  EXPECT_EQ(bus.io_read(0x0F, 1), 0xF0u);
  bus.io_write(0x0A, 1, 0x06);             // mask channel 2
  EXPECT_EQ(bus.io_read(0x0F, 1), 0xF4u);
  bus.io_write(0x0B, 1, 0x56);             // channel 2: single, increment, auto-init, write
  EXPECT_EQ(dma.state.ctl[0].mode[2], 0x56);
  bus.io_write(0xD6, 1, 0xC0);             // DMA2 channel 4: cascade
  EXPECT_EQ(dma.state.ctl[1].mode[0], 0xC0);
  bus.io_write(0x0D, 1, 0);                // master clear
  EXPECT_EQ(bus.io_read(0x0F, 1), 0xFFu);
  EXPECT_EQ(bus.log().counts.unimp, 0u);
  bus.io_write(0x09, 1, 0x04);             // software request: logged, no transfer
  EXPECT_EQ(bus.log().counts.unimp, 1u);
  EXPECT_EQ(bus.io_read(0x08, 1) & 0x10, 0x10u);
}

TEST(I8237, PageRegistersLeavePortEightyToThePostPort) {
  bus::Bus bus(1 << 20);
  PostPort post(bus);
  I8237 dma(bus);
  bus.io_write(0x87, 1, 0x12);  // channel 0's page
  bus.io_write(0x8F, 1, 0x34);
  bus.io_write(0x80, 1, 0x99);
  EXPECT_EQ(bus.io_read(0x87, 1), 0x12u);
  EXPECT_EQ(bus.io_read(0x8F, 1), 0x34u);
  EXPECT_EQ(post.state.last_code, 0x99);
}

TEST(PciAbsent, ConfigurationSpaceReadsAllOnes) {
  bus::Bus bus(1 << 20);
  PciAbsent pci(bus);
  bus.io_write(0xCF8, 4, 0x80000000u);
  EXPECT_EQ(bus.io_read(0xCFC, 2), 0xFFFFu);
  EXPECT_EQ(bus.io_read(0xCF8, 4), 0xFFFFFFFFu);
  EXPECT_EQ(bus.log().counts.guest_errors, 3u);
}

}  // namespace
}  // namespace popek::devices
