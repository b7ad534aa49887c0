#ifndef POPEK_BENCH_H
#define POPEK_BENCH_H
typedef unsigned int u32;
typedef unsigned char u8;
/* Rounds of sieve + CRC-32 + 32x32 integer matrix product; returns a checksum. */
u32 bench_workload(u32 rounds);
#define BENCH_ROUNDS 20
#endif
