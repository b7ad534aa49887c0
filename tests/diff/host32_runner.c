/* Runs single instructions natively in 32-bit mode, for the forms that do not exist in
 * 64-bit mode (DAA DAS AAA AAS AAM AAD, the one-byte INC/DEC). Built with gcc -m32 and
 * used by alu_vs_host.cpp:
 *
 *   host32_runner IN OUT
 *
 * IN holds records { uint32 gpr[8] (EAX..EDI, ESP ignored); uint32 eflags; uint8 len;
 * uint8 bytes[15] }; OUT receives the same records after the instruction ran. The
 * instruction must not fault and must not touch ESP or memory. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct Record {
  uint32_t gpr[8];
  uint32_t eflags;
  uint8_t len;
  uint8_t bytes[15];
};

struct Record g_rec;
void* g_code;
void run32(void);

/* Load EAX..EDI (not ESP) and EFLAGS from g_rec, call the instruction (followed by RET)
 * at g_code, store the registers and EFLAGS back. */
__asm__(
    ".text\n"
    ".globl run32\n"
    "run32:\n"
    "  pushal\n"
    "  pushl g_rec+32\n"
    "  movl g_rec+4, %ecx\n"
    "  movl g_rec+8, %edx\n"
    "  movl g_rec+12, %ebx\n"
    "  movl g_rec+20, %ebp\n"
    "  movl g_rec+24, %esi\n"
    "  movl g_rec+28, %edi\n"
    "  movl g_rec+0, %eax\n"
    "  popfl\n"
    "  call *g_code\n"
    "  pushfl\n"
    "  popl g_rec+32\n"
    "  movl %eax, g_rec+0\n"
    "  movl %ecx, g_rec+4\n"
    "  movl %edx, g_rec+8\n"
    "  movl %ebx, g_rec+12\n"
    "  movl %ebp, g_rec+20\n"
    "  movl %esi, g_rec+24\n"
    "  movl %edi, g_rec+28\n"
    "  popal\n"
    "  ret\n");

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: host32_runner IN OUT\n");
    return 2;
  }
  FILE* in = fopen(argv[1], "rb");
  FILE* out = fopen(argv[2], "wb");
  if (!in || !out) {
    perror("host32_runner");
    return 2;
  }
  uint8_t* page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    perror("host32_runner: mmap");
    return 2;
  }
  g_code = page;
  while (fread(&g_rec, sizeof g_rec, 1, in) == 1) {
    if (g_rec.len == 0 || g_rec.len > 15) return 3;
    memcpy(page, g_rec.bytes, g_rec.len);
    page[g_rec.len] = 0xC3; /* ret */
    g_rec.eflags &= 0x8D5u; /* arithmetic flags only; IF/TF/DF/AC stay as they are */
    g_rec.eflags |= 0x202u;
    run32();
    if (fwrite(&g_rec, sizeof g_rec, 1, out) != 1) return 2;
  }
  fclose(out);
  return 0;
}
