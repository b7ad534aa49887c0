/* The benchmark as a native 32-bit Linux program, for the native column:
 * bench_native [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int main(int argc, char** argv) {
  const u32 rounds = argc > 1 ? (u32)strtoul(argv[1], NULL, 10) : BENCH_ROUNDS;
  printf("bench checksum %08x\n", bench_workload(rounds ? rounds : BENCH_ROUNDS));
  return 0;
}
