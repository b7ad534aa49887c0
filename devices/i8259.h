// Intel 8259A programmable interrupt controllers: the PC/AT master (0x20/0x21) and slave
// (0xA0/0xA1) pair, the slave's INT output cascaded on master IR2, and the edge/level
// control registers (ELCR, 0x4D0/0x4D1) that select level triggering per line.
//
// Modelling choices (departures from the datasheet, and why):
// - An edge-triggered request, once latched in IRR, stays there until acknowledged or
//   until ICW1, even if the line falls again. The real part needs the line held high until
//   the first INTA pulse; emulated devices pulse lines and the INTA cycle here is atomic,
//   so a glitch would only lose interrupts. A level-triggered request (ELCR or ICW1 LTIM)
//   follows its line, and one that disappears before acknowledge gives the default IR7.
// - The cascade: master IR2 is an ordinary input driven by the slave's INT output. When the
//   slave's request vanishes after the master latched IR2, the acknowledge sets master
//   ISR2 and returns the slave's IR7 vector (IRQ15) with no slave ISR bit, as on a PC.
//   After an acknowledge, a slave INT that is still high re-latches master IR2 (it only is
//   in AEOI or special mask mode), so no request is lost for want of a new edge.
// - Before its first ICW1 a chip is uninitialised: IMR = 0xFF, so it raises no request.
// - 8080/8085 mode (ICW4 bit 0 = 0) and buffered mode are not modelled: the vector is
//   always delivered the 8086 way (logged once).
#pragma once

#include <cstdint>
#include <functional>

#include "bus/bus.h"

namespace popek::devices {

struct Pic8259ChipState {
  uint8_t irr = 0;           // interrupt request register
  uint8_t isr = 0;           // in-service register
  uint8_t imr = 0xFF;        // interrupt mask register (OCW1)
  uint8_t lines = 0;         // current level of the IR inputs
  uint8_t elcr = 0;          // edge/level control: 1 = level-triggered
  uint8_t vector_base = 0;   // ICW2 bits 7-3
  uint8_t icw1 = 0;          // last ICW1 (LTIM bit 3, SNGL bit 1, IC4 bit 0)
  uint8_t icw3 = 0;          // master: slave bitmap; slave: its identity
  uint8_t icw4 = 0;          // uPM, AEOI, M/S, BUF, SFNM
  uint8_t init_step = 0;     // 0: idle; 2, 3, 4: expecting that ICW next
  uint8_t lowest = 7;        // the lowest-priority IR (rotation); highest is lowest+1
  uint8_t rotate_aeoi = 0;   // OCW2 R=1 SL=0 EOI=0: rotate in automatic EOI mode
  uint8_t read_isr = 0;      // OCW3 RIS: reads of the command port return ISR, else IRR
  uint8_t poll = 0;          // OCW3 P: the next command-port read is a poll
  uint8_t special_mask = 0;  // OCW3 special mask mode
  template <class Visitor>
  void visit(Visitor& v) {
    v("irr", irr);
    v("isr", isr);
    v("imr", imr);
    v("lines", lines);
    v("elcr", elcr);
    v("vector_base", vector_base);
    v("icw1", icw1);
    v("icw3", icw3);
    v("icw4", icw4);
    v("init_step", init_step);
    v("lowest", lowest);
    v("rotate_aeoi", rotate_aeoi);
    v("read_isr", read_isr);
    v("poll", poll);
    v("special_mask", special_mask);
  }
};

struct Pic8259State {
  static constexpr uint32_t kVersion = 1;
  Pic8259ChipState chip[2];  // [0] master, [1] slave
  template <class Visitor>
  void visit(Visitor& v) {
    v("master", chip[0]);
    v("slave", chip[1]);
  }
};

class Pic8259 final : public bus::Device, public bus::IrqSink {
 public:
  static constexpr uint16_t kMasterBase = 0x20, kSlaveBase = 0xA0, kElcrBase = 0x4D0;
  static constexpr unsigned kCascadeIrq = 2;
  // Lines that cannot be level-triggered on a PC (timer, keyboard, cascade; RTC, FPU).
  static constexpr uint8_t kElcrMask[2] = {0xF8, 0xDE};

  // Registers the ports, adds itself to the bus and attaches itself as the IRQ sink.
  explicit Pic8259(bus::Bus& bus);
  const char* name() const override { return "i8259"; }
  void reset() override;
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // ISA IRQ 0-15. IRQ 2 is the cascade; a device on the ISA bus's IRQ2 pin reaches IRQ 9,
  // as on the AT.
  void set_irq(unsigned irq, bool level) override;

  // The INTR line to the CPU: some unmasked request outranks everything in service.
  bool intr() const;
  // The INTA cycle: the vector to dispatch, with IRR/ISR updated on both chips. With no
  // request pending it returns the master's IR7 vector and changes nothing.
  int acknowledge();
  // Drive the INTR line from the state after a state load.
  void post_load();

  Pic8259State state;
  // Called whenever the INTR line changes (the machine connects it to the CPU).
  std::function<void(bool)> on_intr;

 private:
  void reset_impl();
  void set_irq_impl(unsigned irq, bool level);
  int acknowledge_impl();
  uint32_t io_read_impl(uint16_t port, unsigned size);
  void io_write_impl(uint16_t port, unsigned size, uint32_t value);
  void notify();
  bool intr_level_ = false;
  using Chip = Pic8259ChipState;
  void write_command(int c, uint8_t v);
  void write_data(int c, uint8_t v);
  uint8_t poll_read(int c);
  void input(int c, unsigned ir, bool level);
  void update_cascade();
  void ack_chip(int c, unsigned ir);
  void eoi(int c, unsigned ir, bool rotate);
  bool is_cascade(unsigned ir) const;

  bus::Bus& bus_;
};

}  // namespace popek::devices
