/* The benchmark as a native 32-bit Linux program, for the native column. */
#include <stdio.h>

#include "bench.h"

int main(void) {
  printf("bench checksum %08x\n", bench_workload(BENCH_ROUNDS));
  return 0;
}
