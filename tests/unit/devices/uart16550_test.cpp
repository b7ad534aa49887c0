// The 16550A register file, transmit path and loopback, driven through the bus.
#include <gtest/gtest.h>

#include "bus/bus.h"
#include "devices/uart16550.h"
#include "test_backend.h"

namespace popek::devices {
namespace {

constexpr uint16_t B = 0x3F8;
constexpr uint16_t THR = B + 0, RBR = B + 0, DLL = B + 0, IER = B + 1, DLM = B + 1, IIR = B + 2,
                   FCR = B + 2, LCR = B + 3, MCR = B + 4, LSR = B + 5, MSR = B + 6, SCR = B + 7;

class Uart : public ::testing::Test {
 protected:
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }

  bus::Bus bus{1 << 20};
  CaptureBackend backend;
  Uart16550 uart{bus, backend};
};

TEST_F(Uart, ResetValues) {
  EXPECT_EQ(in(IER), 0x00);
  EXPECT_EQ(in(IIR), 0x01);
  EXPECT_EQ(in(LCR), 0x00);
  EXPECT_EQ(in(MCR), 0x00);
  EXPECT_EQ(in(LSR), 0x60);
  EXPECT_EQ(in(MSR), 0xB0);
  EXPECT_EQ(in(SCR), 0x00);
  EXPECT_FALSE(uart.irq_level());
}

TEST_F(Uart, ThrWritesGoToTheBackendImmediately) {
  out(THR, 'o');
  out(THR, 'k');
  EXPECT_EQ(backend.out, "ok");
  EXPECT_EQ(in(LSR), 0x60);  // THRE | TEMT: the transmitter is always empty
}

TEST_F(Uart, DlabSelectsTheDivisorLatch) {
  out(LCR, 0x83);
  out(DLL, 0x01);
  out(DLM, 0x02);
  EXPECT_EQ(in(DLL), 0x01);
  EXPECT_EQ(in(DLM), 0x02);
  EXPECT_EQ(uart.state.divisor, 0x0201);
  EXPECT_TRUE(backend.out.empty());  // a DLL write is not a transmission
  out(LCR, 0x03);
  EXPECT_EQ(in(LCR), 0x03);
  EXPECT_EQ(in(IER), 0x00);  // IER was not touched by the DLM write
  out(IER, 0xFF);
  EXPECT_EQ(in(IER), 0x0F);  // only bits 0-3 exist
  out(LCR, 0x83);
  EXPECT_EQ(in(DLM), 0x02);
}

TEST_F(Uart, ScratchRegisterHoldsAnyByte) {
  for (int v : {0x00, 0x5A, 0xA5, 0xFF}) {
    out(SCR, static_cast<uint8_t>(v));
    EXPECT_EQ(in(SCR), v);
  }
}

TEST_F(Uart, FifoEnableShowsInIir) {
  out(FCR, 0x07);
  EXPECT_EQ(in(IIR), 0xC1);
  out(FCR, 0x00);
  EXPECT_EQ(in(IIR), 0x01);
}

TEST_F(Uart, McrKeepsFiveBits) {
  out(MCR, 0xFF);
  EXPECT_EQ(in(MCR), 0x1F);
}

TEST_F(Uart, LoopbackReturnsWrittenBytes) {
  out(MCR, 0x10);
  out(THR, 'A');
  EXPECT_TRUE(backend.out.empty());
  EXPECT_EQ(in(LSR), 0x61);
  EXPECT_EQ(in(RBR), 'A');
  EXPECT_EQ(in(LSR), 0x60);
  out(MCR, 0x00);
  out(THR, 'B');
  EXPECT_EQ(backend.out, "B");
  EXPECT_EQ(in(LSR), 0x60);
}

TEST_F(Uart, LoopbackWithoutFifoOverruns) {
  out(MCR, 0x10);
  out(THR, '1');
  out(THR, '2');
  EXPECT_EQ(in(LSR), 0x63);  // DR | OE
  EXPECT_EQ(in(LSR), 0x61);  // OE cleared by the read
  EXPECT_EQ(in(RBR), '1');
}

TEST_F(Uart, LoopbackFifoKeepsOrder) {
  out(FCR, 0x01);
  out(MCR, 0x10);
  for (char c : std::string("abc")) out(THR, static_cast<uint8_t>(c));
  EXPECT_EQ(in(RBR), 'a');
  EXPECT_EQ(in(RBR), 'b');
  EXPECT_EQ(in(RBR), 'c');
  EXPECT_EQ(in(LSR) & 1, 0);
  out(THR, 'd');
  out(FCR, 0x03);  // clear the receive FIFO
  EXPECT_EQ(in(LSR) & 1, 0);
}

TEST_F(Uart, LoopbackDrivesModemStatus) {
  out(MCR, 0x10);
  in(MSR);  // entering loopback dropped CTS/DSR/DCD: clear those deltas
  out(MCR, 0x1F);
  const uint8_t msr = in(MSR);
  EXPECT_EQ(msr & 0xF0, 0xF0);
  EXPECT_EQ(msr & 0x0B, 0x0B);  // DCTS, DDSR, DDCD
  EXPECT_EQ(in(MSR), 0xF0);     // deltas cleared by the read
  out(MCR, 0x1B);               // OUT1 (RI) falls: trailing edge
  EXPECT_EQ(in(MSR), 0xB4);
  out(MCR, 0x00);
  EXPECT_EQ(in(MSR) & 0xF0, 0xB0);  // back to the idle lines
}

TEST_F(Uart, ThrEmptyInterrupt) {
  out(IER, 0x02);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_FALSE(uart.irq_level());  // acknowledged by the IIR read
  EXPECT_EQ(in(IIR), 0x01);
  out(THR, 'x');
  EXPECT_TRUE(uart.irq_level());
  out(IER, 0x00);
  EXPECT_FALSE(uart.irq_level());
}

TEST_F(Uart, ReceivedDataInterruptHasPriorityOverThre) {
  out(MCR, 0x10);
  out(IER, 0x03);
  out(THR, 'z');
  EXPECT_EQ(in(IIR), 0x04);
  EXPECT_EQ(in(RBR), 'z');
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_EQ(in(IIR), 0x01);
}

TEST_F(Uart, LineStatusInterruptOnOverrun) {
  out(MCR, 0x10);
  out(IER, 0x04);
  out(THR, '1');
  out(THR, '2');
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(in(IIR), 0x06);
  in(LSR);
  EXPECT_EQ(in(IIR), 0x01);
}

TEST_F(Uart, InputComesFromTheBackendQueue) {
  uint64_t icount = 0;
  bus.clock().attach(&icount, 0);
  backend.push_input('x');
  backend.push_input('y');
  EXPECT_EQ(in(LSR), 0x60);  // the first byte takes one character time to arrive
  icount = uart.char_time_ns();
  bus.clock().run_due();
  EXPECT_EQ(in(LSR), 0x61);
  EXPECT_EQ(in(RBR), 'x');
  EXPECT_EQ(in(LSR), 0x60);
  icount += uart.char_time_ns();
  bus.clock().run_due();
  EXPECT_EQ(in(LSR), 0x61);
  EXPECT_EQ(in(RBR), 'y');
  EXPECT_EQ(in(LSR), 0x60);
}

TEST_F(Uart, ResetRestoresPowerOnState) {
  out(LCR, 0x83);
  out(DLL, 0x77);
  out(LCR, 0x03);
  out(SCR, 0x42);
  out(MCR, 0x1F);
  bus.reset_devices();
  EXPECT_EQ(in(LCR), 0x00);
  EXPECT_EQ(in(SCR), 0x00);
  EXPECT_EQ(in(MCR), 0x00);
  EXPECT_EQ(in(MSR), 0xB0);
  EXPECT_EQ(uart.state.divisor, 0x000C);
}

}  // namespace
}  // namespace popek::devices
