#include "jit/call_threaded.h"

namespace popek::jit {

namespace {
// The one entry point generated code calls: returns nonzero to go on with the block.
extern "C" uint32_t popek_jit_step(cpu::Cpu* c, const cpu::Insn* in) { return c->step(*in) ? 1 : 0; }
}  // namespace

bool CallThreaded::translate(cpu::Block& block) {
  using namespace asmjit;
  CodeHolder code;
  code.init(rt_.environment());
  x86::Assembler a(&code);
  // rbx holds the Cpu* across calls. On entry RSP is 8 mod 16 (the return address);
  // pushing rbx makes it 16-byte aligned at each call, as the SysV ABI requires.
  a.push(x86::rbx);
  a.mov(x86::rbx, x86::rdi);
  Label exit = a.newLabel();
  for (const cpu::Insn& in : block.insns) {
    a.mov(x86::rdi, x86::rbx);
    a.mov(x86::rsi, reinterpret_cast<uint64_t>(&in));
    a.mov(x86::rax, reinterpret_cast<uint64_t>(&popek_jit_step));
    a.call(x86::rax);
    a.test(x86::eax, x86::eax);
    a.jz(exit);
  }
  a.bind(exit);
  a.pop(x86::rbx);
  a.ret();
  BlockFn fn;
  if (rt_.add(&fn, &code) != kErrorOk) return false;
  block.host_code = reinterpret_cast<void*>(fn);
  ++blocks_translated;
  return true;
}

bool CallThreaded::run(cpu::Cpu& cpu, cpu::Block& block) {
  if (!block.host_code) {
    if (++block.runs < hot_threshold_) return false;
    if (!translate(block)) {
      if (translation_failures++ == 0) {
        cpu.log().once("jit-fail", "JIT: a block could not be translated; the interpreter runs it");
      }
      return false;
    }
  }
  reinterpret_cast<BlockFn>(block.host_code)(&cpu);
  return true;
}

void CallThreaded::release(cpu::Block& block) {
  rt_.release(reinterpret_cast<BlockFn>(block.host_code));
  block.host_code = nullptr;
}

}  // namespace popek::jit
