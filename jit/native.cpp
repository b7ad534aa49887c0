#include "jit/native.h"

namespace popek::jit {

struct Native::Impl {};

Native::Native(cpu::Cpu& cpu, unsigned hot_threshold) : impl_(std::make_unique<Impl>()) {}
Native::~Native() = default;
bool Native::run(cpu::Cpu& cpu, cpu::Block& block) { return false; }
void Native::release(cpu::Block& block) {}
std::string Native::disassemble(const cpu::Block& block) const { return ""; }

}  // namespace popek::jit
