/* The compute workload of the interpreter benchmark: integer-only (no x87), the same
 * source runs as a guest kernel on popek and QEMU and as a native 32-bit program. */
#include "bench.h"

static u32 state = 12345;
static u32 rnd(void) {
  state = state * 1103515245u + 12345u;
  return state >> 8;
}

static u8 sieve_buf[65536];

static u32 sieve(u32 n) {
  for (u32 i = 0; i < n; ++i) sieve_buf[i] = 1;
  u32 count = 0;
  for (u32 i = 2; i < n; ++i) {
    if (!sieve_buf[i]) continue;
    ++count;
    for (u32 j = i * 2; j < n; j += i) sieve_buf[j] = 0;
  }
  return count;
}

static u32 crc32(const u8* p, u32 len) {
  u32 crc = 0xFFFFFFFFu;
  for (u32 i = 0; i < len; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static u32 mat[32][32], matb[32][32], matc[32][32];

static u32 matmul(void) {
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j) {
      mat[i][j] = rnd() & 0xFF;
      matb[i][j] = rnd() & 0xFF;
    }
  u32 sum = 0;
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j) {
      u32 acc = 0;
      for (int k = 0; k < 32; ++k) acc += mat[i][k] * matb[k][j];
      matc[i][j] = acc;
      sum += acc;
    }
  return sum;
}

u32 bench_workload(u32 rounds) {
  u32 h = 0;
  for (u32 r = 0; r < rounds; ++r) {
    h ^= sieve(65536);
    h = h * 31 + crc32(sieve_buf, 16384);
    h = h * 31 + matmul();
  }
  return h;
}
