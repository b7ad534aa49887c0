/* Minimal freestanding support for the C guests: port I/O, the COM1 UART, debugcon. */
#ifndef POPEK_GUEST_H
#define POPEK_GUEST_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

/* COM1: 115200 8N1, polled transmit. */
static inline void serial_init(void) {
  outb(0x3F9, 0x00);  /* no interrupts */
  outb(0x3FB, 0x80);  /* DLAB */
  outb(0x3F8, 0x01);  /* divisor 1: 115200 baud */
  outb(0x3F9, 0x00);
  outb(0x3FB, 0x03);  /* 8N1 */
  outb(0x3FA, 0xC7);  /* FIFOs on, cleared */
  outb(0x3FC, 0x03);  /* DTR, RTS */
}
static inline void serial_putc(char c) {
  while (!(inb(0x3FD) & 0x20)) {
  }
  outb(0x3F8, (u8)c);
}
static inline void puts_serial(const char* s) {
  for (; *s; ++s) {
    if (*s == '\n') serial_putc('\r');
    serial_putc(*s);
  }
}
static inline void put_dec(u32 v, void (*out)(const char*)) {
  char buf[12];
  int i = 11;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  out(buf + i);
}
static inline void put_hex(u32 v, void (*out)(const char*)) {
  char buf[9];
  for (int i = 7; i >= 0; --i) {
    buf[i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
  buf[8] = 0;
  out(buf);
}
/* isa-debug-exit: the emulator exits with status (v << 1) | 1. */
static inline void debug_exit(u8 v) { outb(0xF4, v); }

#endif
