/* The demo guest: a 32-bit protected-mode kernel that greets on the serial port, shows
 * what the CPU says about itself, computes a little, and halts. */
#include "guest.h"

static int is_prime(u32 n) {
  if (n < 2) return 0;
  for (u32 d = 2; d * d <= n; ++d)
    if (n % d == 0) return 0;
  return 1;
}

void kmain(u32 magic, u32 info) {
  serial_init();
  puts_serial("Hello from a 32-bit guest running on popek!\n");
  puts_serial("multiboot magic: 0x");
  put_hex(magic, puts_serial);
  if (magic == 0x2BADB002 && (*(u32*)info & 1)) {
    puts_serial(", memory above 1 MiB: ");
    put_dec(((u32*)info)[2] / 1024, puts_serial);
    puts_serial(" MiB");
  }
  puts_serial("\n");

  u32 a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
  char vendor[13];
  *(u32*)(vendor + 0) = b;
  *(u32*)(vendor + 4) = d;
  *(u32*)(vendor + 8) = c;
  vendor[12] = 0;
  puts_serial("cpu vendor: ");
  puts_serial(vendor);
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
  puts_serial(", family ");
  put_dec((a >> 8) & 15, puts_serial);
  puts_serial(", features 0x");
  put_hex(d, puts_serial);
  puts_serial("\n");

  puts_serial("the first primes:");
  u32 found = 0;
  for (u32 n = 2; found < 15; ++n) {
    if (is_prime(n)) {
      puts_serial(" ");
      put_dec(n, puts_serial);
      ++found;
    }
  }
  puts_serial("\n");

  u16 msw;
  __asm__ volatile("smsw %0" : "=r"(msw));
  puts_serial("machine status word: 0x");
  put_hex(msw, puts_serial);
  puts_serial(" (protected mode ");
  puts_serial((msw & 1) ? "on" : "off");
  puts_serial(")\nbye.\n");
}
