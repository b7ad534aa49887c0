/* Page-table-heavy guest workload for the softmmu benchmark: PROCS address spaces that
 * share an identity-mapped kernel (16 MiB) and each map PAGES private user pages at
 * 0x40000000; every round switches CR3 to each address space in turn and writes then
 * reads every one of its pages. The guest checks what it reads (each address space sees
 * its own frames) and exits through isa-debug-exit: status 33 when everything matched.
 * "rounds=N" on the command line sets the number of rounds. */
#include "guest.h"

#define PROCS 16
#define PAGES 64
#define USER_BASE 0x40000000u
#define FRAMES_BASE 0x01000000u /* 16 MiB: the private frames */

static u32 pd[PROCS][1024] __attribute__((aligned(4096)));
static u32 kernel_pt[4][1024] __attribute__((aligned(4096)));
static u32 user_pt[PROCS][1024] __attribute__((aligned(4096)));

static void print(const char* s) {
  for (; *s; ++s) outb(0xE9, (u8)*s);
}

static u32 rounds_from_cmdline(u32 magic, const u32* info) {
  if (magic != 0x2BADB002 || !(info[0] & (1u << 2))) return 200;
  for (const char* s = (const char*)info[4]; *s; ++s) {
    const char* k = "rounds=";
    const char* p = s;
    while (*k && *p == *k) ++p, ++k;
    if (*k) continue;
    u32 n = 0;
    while (*p >= '0' && *p <= '9') n = n * 10 + (u32)(*p++ - '0');
    return n ? n : 200;
  }
  return 200;
}

void kmain(u32 magic, u32 info) {
  const u32 rounds = rounds_from_cmdline(magic, (const u32*)info);
  for (u32 t = 0; t < 4; ++t)
    for (u32 i = 0; i < 1024; ++i) kernel_pt[t][i] = ((t * 1024 + i) << 12) | 0x3; /* P|RW */
  for (u32 p = 0; p < PROCS; ++p) {
    for (u32 i = 0; i < 1024; ++i) pd[p][i] = 0;
    for (u32 t = 0; t < 4; ++t) pd[p][t] = (u32)kernel_pt[t] | 0x3;
    for (u32 i = 0; i < 1024; ++i) user_pt[p][i] = 0;
    for (u32 i = 0; i < PAGES; ++i)
      user_pt[p][i] = (FRAMES_BASE + (p * PAGES + i) * 4096u) | 0x7; /* P|RW|US */
    pd[p][USER_BASE >> 22] = (u32)user_pt[p] | 0x7;
  }
  __asm__ volatile("mov %0, %%cr3" : : "r"((u32)pd[0]));
  u32 cr0;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | 0x80000000u) : "memory");

  u32 bad = 0;
  for (u32 r = 0; r < rounds; ++r) {
    for (u32 p = 0; p < PROCS; ++p) {
      __asm__ volatile("mov %0, %%cr3" : : "r"((u32)pd[p]) : "memory");
      volatile u32* base = (volatile u32*)USER_BASE;
      for (u32 i = 0; i < PAGES; ++i) base[i * 1024 + (r & 1023)] = p * 131 + i + r;
      for (u32 i = 0; i < PAGES; ++i)
        if (base[i * 1024 + (r & 1023)] != p * 131 + i + r) ++bad;
    }
  }
  /* Each address space's frames are distinct: check them through the identity map. */
  __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
  const u32 r = rounds - 1;
  for (u32 p = 0; p < PROCS; ++p)
    for (u32 i = 0; i < PAGES; ++i) {
      const volatile u32* f = (const volatile u32*)(FRAMES_BASE + (p * PAGES + i) * 4096u);
      if (f[r & 1023] != p * 131 + i + r) ++bad;
    }
  print(bad ? "ptbench: FAIL\n" : "ptbench: ok\n");
  outb(0xF4, bad ? 0x11 : 0x10);
}
