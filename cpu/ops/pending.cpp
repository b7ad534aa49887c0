// Weak fallbacks for rows whose group is still being written: such a row logs once
// and raises #UD, like any unimplemented instruction. Delete a name here once its
// group defines it; the file goes away when every group is complete.
#include "cpu/cpu.h"
#include "cpu/insn_table.h"

namespace popek::cpu::ops {

__attribute__((weak)) Status nop(Cpu& c, const Insn& in) { return c.unimplemented(in, "nop"); }
__attribute__((weak)) Status add(Cpu& c, const Insn& in) { return c.unimplemented(in, "add"); }
__attribute__((weak)) Status adc(Cpu& c, const Insn& in) { return c.unimplemented(in, "adc"); }
__attribute__((weak)) Status sub(Cpu& c, const Insn& in) { return c.unimplemented(in, "sub"); }
__attribute__((weak)) Status sbb(Cpu& c, const Insn& in) { return c.unimplemented(in, "sbb"); }
__attribute__((weak)) Status cmp(Cpu& c, const Insn& in) { return c.unimplemented(in, "cmp"); }
__attribute__((weak)) Status inc(Cpu& c, const Insn& in) { return c.unimplemented(in, "inc"); }
__attribute__((weak)) Status dec(Cpu& c, const Insn& in) { return c.unimplemented(in, "dec"); }
__attribute__((weak)) Status neg(Cpu& c, const Insn& in) { return c.unimplemented(in, "neg"); }
__attribute__((weak)) Status and_(Cpu& c, const Insn& in) { return c.unimplemented(in, "and_"); }
__attribute__((weak)) Status or_(Cpu& c, const Insn& in) { return c.unimplemented(in, "or_"); }
__attribute__((weak)) Status xor_(Cpu& c, const Insn& in) { return c.unimplemented(in, "xor_"); }
__attribute__((weak)) Status not_(Cpu& c, const Insn& in) { return c.unimplemented(in, "not_"); }
__attribute__((weak)) Status test(Cpu& c, const Insn& in) { return c.unimplemented(in, "test"); }
__attribute__((weak)) Status shl(Cpu& c, const Insn& in) { return c.unimplemented(in, "shl"); }
__attribute__((weak)) Status shr(Cpu& c, const Insn& in) { return c.unimplemented(in, "shr"); }
__attribute__((weak)) Status sar(Cpu& c, const Insn& in) { return c.unimplemented(in, "sar"); }
__attribute__((weak)) Status rol(Cpu& c, const Insn& in) { return c.unimplemented(in, "rol"); }
__attribute__((weak)) Status ror(Cpu& c, const Insn& in) { return c.unimplemented(in, "ror"); }
__attribute__((weak)) Status rcl(Cpu& c, const Insn& in) { return c.unimplemented(in, "rcl"); }
__attribute__((weak)) Status rcr(Cpu& c, const Insn& in) { return c.unimplemented(in, "rcr"); }
__attribute__((weak)) Status shld(Cpu& c, const Insn& in) { return c.unimplemented(in, "shld"); }
__attribute__((weak)) Status shrd(Cpu& c, const Insn& in) { return c.unimplemented(in, "shrd"); }
__attribute__((weak)) Status bt(Cpu& c, const Insn& in) { return c.unimplemented(in, "bt"); }
__attribute__((weak)) Status bts(Cpu& c, const Insn& in) { return c.unimplemented(in, "bts"); }
__attribute__((weak)) Status btr(Cpu& c, const Insn& in) { return c.unimplemented(in, "btr"); }
__attribute__((weak)) Status btc(Cpu& c, const Insn& in) { return c.unimplemented(in, "btc"); }
__attribute__((weak)) Status bsf(Cpu& c, const Insn& in) { return c.unimplemented(in, "bsf"); }
__attribute__((weak)) Status bsr(Cpu& c, const Insn& in) { return c.unimplemented(in, "bsr"); }
__attribute__((weak)) Status mul(Cpu& c, const Insn& in) { return c.unimplemented(in, "mul"); }
__attribute__((weak)) Status imul(Cpu& c, const Insn& in) { return c.unimplemented(in, "imul"); }
__attribute__((weak)) Status div(Cpu& c, const Insn& in) { return c.unimplemented(in, "div"); }
__attribute__((weak)) Status idiv(Cpu& c, const Insn& in) { return c.unimplemented(in, "idiv"); }
__attribute__((weak)) Status daa(Cpu& c, const Insn& in) { return c.unimplemented(in, "daa"); }
__attribute__((weak)) Status das(Cpu& c, const Insn& in) { return c.unimplemented(in, "das"); }
__attribute__((weak)) Status aaa(Cpu& c, const Insn& in) { return c.unimplemented(in, "aaa"); }
__attribute__((weak)) Status aas(Cpu& c, const Insn& in) { return c.unimplemented(in, "aas"); }
__attribute__((weak)) Status aam(Cpu& c, const Insn& in) { return c.unimplemented(in, "aam"); }
__attribute__((weak)) Status aad(Cpu& c, const Insn& in) { return c.unimplemented(in, "aad"); }

}  // namespace popek::cpu::ops
