/* The benchmark as a guest kernel: run the workload, print the checksum on debugcon,
 * exit through isa-debug-exit (status 33 = success). The number of rounds comes from
 * the command line ("rounds=N", e.g. -append rounds=200), BENCH_ROUNDS by default. */
#include "bench.h"

static inline void outb(unsigned short port, unsigned char v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static void print(const char* s) {
  for (; *s; ++s) outb(0xE9, (unsigned char)*s);
}

static u32 rounds_from_cmdline(u32 magic, const u32* info) {
  if (magic != 0x2BADB002 || !(info[0] & (1u << 2))) return BENCH_ROUNDS;
  const char* s = (const char*)info[4];
  for (; *s; ++s) {
    const char* k = "rounds=";
    const char* p = s;
    while (*k && *p == *k) ++p, ++k;
    if (*k) continue;
    u32 n = 0;
    while (*p >= '0' && *p <= '9') n = n * 10 + (u32)(*p++ - '0');
    return n ? n : BENCH_ROUNDS;
  }
  return BENCH_ROUNDS;
}

void kmain(u32 magic, u32 info) {
  u32 h = bench_workload(rounds_from_cmdline(magic, (const u32*)info));
  char buf[9];
  for (int i = 7; i >= 0; --i) {
    buf[i] = "0123456789abcdef"[h & 15];
    h >>= 4;
  }
  buf[8] = 0;
  print("bench checksum ");
  print(buf);
  print("\n");
  outb(0xF4, 0x10);
}
