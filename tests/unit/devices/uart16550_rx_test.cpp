// 16550A reception paced on the virtual clock, FIFO trigger levels, the character
// timeout, interrupt priorities and the OUT2-gated IRQ line, driven through the bus.
#include <gtest/gtest.h>

#include <string>

#include "bus/bus.h"
#include "devices/uart16550.h"
#include "test_backend.h"
#include "test_irq.h"

namespace popek::devices {
namespace {

constexpr uint16_t B = 0x3F8;
constexpr uint16_t RBR = B, THR = B, DLL = B, IER = B + 1, DLM = B + 1, IIR = B + 2, FCR = B + 2,
                   LCR = B + 3, MCR = B + 4, LSR = B + 5, MSR = B + 6;

class UartRx : public ::testing::Test {
 protected:
  UartRx() { bus.attach_irq_sink(&pic); }
  uint8_t in(uint16_t port) { return static_cast<uint8_t>(bus.io_read(port, 1)); }
  void out(uint16_t port, uint8_t v) { bus.io_write(port, 1, v); }
  void push(const std::string& s) {
    for (char c : s) backend.push_input(static_cast<uint8_t>(c));
  }
  // 115200 baud: one character every 86806 ns.
  void set_divisor(uint16_t d) {
    out(LCR, 0x83);
    out(DLL, static_cast<uint8_t>(d));
    out(DLM, static_cast<uint8_t>(d >> 8));
    out(LCR, 0x03);
  }
  uint64_t ct() const { return uart.char_time_ns(); }

  bus::Bus bus{1 << 20};
  RecordingPic pic;
  TestClock clock{bus};
  CaptureBackend backend;
  Uart16550 uart{bus, backend};
};

TEST_F(UartRx, CharacterTimeFollowsTheDivisor) {
  EXPECT_EQ(uart.char_time_ns(), 1041667u);  // 9600 baud after reset
  set_divisor(1);
  EXPECT_EQ(uart.char_time_ns(), 86806u);
}

TEST_F(UartRx, InputArrivesOneCharacterTimeApart) {
  set_divisor(1);
  out(FCR, 0x01);
  push("abc");
  EXPECT_EQ(in(LSR) & 1, 0);  // nothing before the first character time
  clock.advance(ct());
  EXPECT_EQ(in(LSR), 0x61);
  clock.advance(ct() - 1);
  clock.advance(1);
  clock.advance(ct());
  EXPECT_EQ(in(RBR), 'a');
  EXPECT_EQ(in(RBR), 'b');
  EXPECT_EQ(in(RBR), 'c');
  EXPECT_EQ(in(LSR) & 1, 0);
}

TEST_F(UartRx, NoOverrunFromTheHost) {
  set_divisor(1);
  push("0123456789");  // FIFOs off: one byte of room
  clock.advance(20 * ct());
  EXPECT_EQ(in(LSR), 0x61);  // DR, no OE
  EXPECT_EQ(in(RBR), '0');
  clock.advance(ct());
  EXPECT_EQ(in(RBR), '1');
  // With FIFOs: at most 16 held, the rest waits in the backend.
  out(FCR, 0x01);
  push("abcdefghijklmnopqrstuvwxyz");
  clock.advance(100 * ct());
  EXPECT_EQ(in(LSR) & 0x03, 0x01);
  std::string got;
  while (in(LSR) & 1) got.push_back(static_cast<char>(in(RBR)));
  EXPECT_EQ(got.size(), 16u);
  for (int round = 0; round < 2; ++round) {
    clock.advance(100 * ct());
    EXPECT_EQ(in(LSR) & 0x02, 0);
    while (in(LSR) & 1) got.push_back(static_cast<char>(in(RBR)));
  }
  EXPECT_EQ(got, "23456789abcdefghijklmnopqrstuvwxyz");
}

TEST_F(UartRx, TriggerLevels) {
  set_divisor(1);
  out(IER, 0x01);
  out(MCR, 0x08);  // OUT2: let the interrupt through
  for (int level : {1, 4, 8, 14}) {
    const uint8_t bits = level == 1 ? 0x00 : level == 4 ? 0x40 : level == 8 ? 0x80 : 0xC0;
    out(FCR, static_cast<uint8_t>(0x03 | bits));  // enable and clear
    push(std::string(static_cast<size_t>(level), 'x'));
    clock.advance((level - 1) * ct());
    EXPECT_EQ(in(IIR), 0xC1) << level;  // one byte short of the trigger
    EXPECT_FALSE(pic.levels[4]) << level;
    clock.advance(ct());
    EXPECT_EQ(in(IIR), 0xC4) << level;
    EXPECT_TRUE(pic.levels[4]) << level;
    while (in(LSR) & 1) in(RBR);
    EXPECT_FALSE(pic.levels[4]) << level;
  }
}

TEST_F(UartRx, CharacterTimeoutInterrupt) {
  set_divisor(1);
  out(FCR, 0xC1);  // trigger 14
  out(IER, 0x01);
  out(MCR, 0x08);
  push("hi");
  clock.advance(2 * ct());
  EXPECT_EQ(in(IIR), 0xC1);
  clock.advance(4 * ct() - 1);
  EXPECT_EQ(in(IIR), 0xC1);  // not yet four character times since the last byte
  clock.advance(1);
  EXPECT_EQ(in(IIR), 0xCC);
  EXPECT_TRUE(pic.levels[4]);
  EXPECT_EQ(in(RBR), 'h');  // a read clears the timeout and restarts the timer
  EXPECT_EQ(in(IIR), 0xC1);
  EXPECT_FALSE(pic.levels[4]);
  clock.advance(4 * ct());
  EXPECT_EQ(in(IIR), 0xCC);
  EXPECT_EQ(in(RBR), 'i');
  clock.advance(10 * ct());
  EXPECT_EQ(in(IIR), 0xC1);  // empty FIFO: no timeout
}

TEST_F(UartRx, NoTimeoutWithoutFifos) {
  set_divisor(1);
  out(IER, 0x01);
  push("q");
  clock.advance(10 * ct());
  EXPECT_EQ(in(IIR), 0x04);
}

TEST_F(UartRx, IirPriorities) {
  out(MCR, 0x10);  // loopback
  out(IER, 0x0F);
  out(THR, '1');
  out(THR, '2');  // overrun: line status, then data, then THRE, then modem status
  out(MCR, 0x11);  // DTR -> DSR changes: a modem status delta
  EXPECT_EQ(in(IIR), 0x06);
  in(LSR);
  EXPECT_EQ(in(IIR), 0x04);
  in(RBR);
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_EQ(in(IIR), 0x00);  // THRE acknowledged by the read
  in(MSR);
  EXPECT_EQ(in(IIR), 0x01);
}

TEST_F(UartRx, ThreInterruptRules) {
  out(MCR, 0x08);
  out(IER, 0x02);
  EXPECT_TRUE(pic.levels[4]);  // enabling while THR is empty raises it
  EXPECT_EQ(in(IIR), 0x02);
  EXPECT_FALSE(pic.levels[4]);
  out(IER, 0x00);
  out(IER, 0x02);  // again, as Linux's 8250 probe does
  EXPECT_EQ(in(IIR), 0x02);
  out(IER, 0x02);  // already enabled: no new interrupt
  EXPECT_EQ(in(IIR), 0x01);
  const unsigned edges = pic.edges[4];
  out(THR, 'x');  // THR empties again
  EXPECT_EQ(pic.edges[4], edges + 1);
  EXPECT_EQ(backend.out, "x");
}

TEST_F(UartRx, Out2GatesTheIrqLine) {
  out(IER, 0x02);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_FALSE(pic.levels[4]);
  out(MCR, 0x08);
  EXPECT_TRUE(pic.levels[4]);
  out(MCR, 0x18);  // loopback disconnects the output
  EXPECT_TRUE(uart.irq_level());
  EXPECT_FALSE(pic.levels[4]);
  out(MCR, 0x00);
  EXPECT_FALSE(pic.levels[4]);
}

TEST_F(UartRx, LoopbackModemStatusInterrupt) {
  out(MCR, 0x10);
  in(MSR);
  out(IER, 0x08);
  EXPECT_EQ(in(IIR), 0x01);
  out(MCR, 0x12);  // RTS -> CTS
  EXPECT_EQ(in(IIR), 0x00);
  EXPECT_EQ(in(MSR), 0x11);  // CTS, DCTS
  EXPECT_EQ(in(IIR), 0x01);
}

TEST_F(UartRx, HostInputWaitsDuringLoopback) {
  set_divisor(1);
  out(MCR, 0x10);
  push("h");
  clock.advance(10 * ct());
  EXPECT_EQ(in(LSR) & 1, 0);
  out(MCR, 0x00);
  clock.advance(Uart16550::kIdlePollNs + ct());
  EXPECT_EQ(in(RBR), 'h');
}

TEST_F(UartRx, SameInputSameTiming) {
  // Two runs with the same input and the same guest reads see bytes at the same times.
  auto run = [](std::string& log) {
    bus::Bus b{1 << 20};
    TestClock c{b};
    CaptureBackend be;
    Uart16550 u{b, be};
    b.io_write(FCR, 1, 0x01);
    for (char ch : std::string("determinism")) be.push_input(static_cast<uint8_t>(ch));
    for (int step = 0; step < 200; ++step) {
      c.advance(u.char_time_ns() / 3);
      if (b.io_read(LSR, 1) & 1) log += std::to_string(c.now()) + ":" +
                                       static_cast<char>(b.io_read(RBR, 1)) + " ";
    }
  };
  std::string a, b;
  run(a);
  run(b);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find(":m"), std::string::npos);
}

TEST_F(UartRx, NoEventsWithoutInput) {
  // A backend with no input source schedules nothing: a halted guest can stop.
  EXPECT_FALSE(bus.clock().pending());
  push("z");
  EXPECT_TRUE(bus.clock().pending());
  clock.advance(ct());
  in(RBR);
  clock.advance(Uart16550::kIdlePollNs * 2);
  EXPECT_FALSE(bus.clock().pending());
}

struct ComPort {
  int n;
  uint16_t base;
  unsigned irq;
};

class UartComPorts : public ::testing::TestWithParam<ComPort> {};

TEST_P(UartComPorts, RegistersAndIrq) {
  const ComPort p = GetParam();
  bus::Bus bus{1 << 20};
  RecordingPic pic;
  bus.attach_irq_sink(&pic);
  CaptureBackend backend;
  Uart16550 uart{bus, backend, Uart16550::kComBase[p.n - 1], Uart16550::kComIrq[p.n - 1]};
  EXPECT_EQ(Uart16550::kComBase[p.n - 1], p.base);
  bus.io_write(p.base + 7, 1, 0x5A);
  EXPECT_EQ(bus.io_read(p.base + 7, 1), 0x5Au);
  bus.io_write(p.base + 4, 1, 0x08);
  bus.io_write(p.base + 1, 1, 0x02);
  EXPECT_TRUE(pic.levels[p.irq]);
  EXPECT_FALSE(pic.levels[p.irq == 4 ? 3 : 4]);
  bus.io_write(p.base, 1, 'k');
  EXPECT_EQ(backend.out, "k");
}

INSTANTIATE_TEST_SUITE_P(Com, UartComPorts,
                         ::testing::Values(ComPort{1, 0x3F8, 4}, ComPort{2, 0x2F8, 3},
                                           ComPort{3, 0x3E8, 4}, ComPort{4, 0x2E8, 3}));

}  // namespace
}  // namespace popek::devices
