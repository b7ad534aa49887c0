#include "cpu/decoder.h"

#include <cstring>
#include <initializer_list>

#include "cpu/cpu_state.h"
#include "cpu/insn_table.h"

namespace popek::cpu {

namespace {

bool map_register(ZydisRegister r, RegClass& cls, uint8_t& idx) {
  if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BH) {
    cls = RegClass::Gpr8;
    idx = static_cast<uint8_t>(r - ZYDIS_REGISTER_AL);
    return true;
  }
  if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) {
    cls = RegClass::Gpr16;
    idx = static_cast<uint8_t>(r - ZYDIS_REGISTER_AX);
    return true;
  }
  if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) {
    cls = RegClass::Gpr32;
    idx = static_cast<uint8_t>(r - ZYDIS_REGISTER_EAX);
    return true;
  }
  switch (r) {
    case ZYDIS_REGISTER_ES: cls = RegClass::Seg; idx = ES; return true;
    case ZYDIS_REGISTER_CS: cls = RegClass::Seg; idx = CS; return true;
    case ZYDIS_REGISTER_SS: cls = RegClass::Seg; idx = SS; return true;
    case ZYDIS_REGISTER_DS: cls = RegClass::Seg; idx = DS; return true;
    case ZYDIS_REGISTER_FS: cls = RegClass::Seg; idx = FS; return true;
    case ZYDIS_REGISTER_GS: cls = RegClass::Seg; idx = GS; return true;
    default: break;
  }
  if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) {
    cls = RegClass::Cr;
    idx = static_cast<uint8_t>(r - ZYDIS_REGISTER_CR0);
    return true;
  }
  if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15) {
    cls = RegClass::Dr;
    idx = static_cast<uint8_t>(r - ZYDIS_REGISTER_DR0);
    return true;
  }
  cls = RegClass::Other;
  idx = kNoReg;
  return false;
}

uint8_t gpr_index(ZydisRegister r) {
  RegClass c;
  uint8_t i;
  if (r == ZYDIS_REGISTER_NONE || !map_register(r, c, i)) return kNoReg;
  return (c == RegClass::Gpr16 || c == RegClass::Gpr32) ? i : kNoReg;
}

uint8_t seg_index(ZydisRegister r) {
  RegClass c;
  uint8_t i;
  if (map_register(r, c, i) && c == RegClass::Seg) return i;
  return DS;
}

bool is_string(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD:
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD:
    case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
    case ZYDIS_MNEMONIC_OUTSB: case ZYDIS_MNEMONIC_OUTSW: case ZYDIS_MNEMONIC_OUTSD:
      return true;
    default:
      return false;
  }
}

}  // namespace

Decoder::Decoder() {
  ZydisDecoderInit(&real_, ZYDIS_MACHINE_MODE_REAL_16, ZYDIS_STACK_WIDTH_16);
  ZydisDecoderInit(&prot16_, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
  ZydisDecoderInit(&prot32_, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  // An i686 has neither BMI1 nor ABM: F3 0F BC/BD are REP BSF/BSR (Linux relies on
  // that), not TZCNT/LZCNT.
  for (ZydisDecoder* d : {&real_, &prot16_, &prot32_}) {
    ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_TZCNT, ZYAN_FALSE);
    ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_LZCNT, ZYAN_FALSE);
  }
}

DecodeResult Decoder::decode(const uint8_t* bytes, size_t avail, CodeMode mode, Insn& out) const {
  const ZydisDecoder* d = mode == CodeMode::Real16 ? &real_ : mode == CodeMode::Prot16 ? &prot16_ : &prot32_;
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
  const size_t n = avail < 15 ? avail : 15;
  ZyanStatus st = ZydisDecoderDecodeFull(d, bytes, n, &zi, zo);
  if (ZYAN_FAILED(st) && d == &real_ && st != ZYDIS_STATUS_NO_MORE_DATA &&
      st != ZYDIS_STATUS_INSTRUCTION_TOO_LONG) {
    // Zydis refuses SYSENTER and SYSEXIT in its real mode, which popek also decodes
    // virtual-8086 code with. There SYSENTER runs; both #GP(0) in real mode (not #UD).
    ZydisDecodedInstruction alt;
    ZydisDecodedOperand alt_ops[ZYDIS_MAX_OPERAND_COUNT];
    if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&prot16_, bytes, n, &alt, alt_ops)) &&
        (alt.mnemonic == ZYDIS_MNEMONIC_SYSENTER || alt.mnemonic == ZYDIS_MNEMONIC_SYSEXIT)) {
      zi = alt;
      std::memcpy(zo, alt_ops, sizeof zo);
      st = ZYAN_STATUS_SUCCESS;
    }
  }
  out = Insn{};
  if (ZYAN_FAILED(st)) {
    if (st == ZYDIS_STATUS_NO_MORE_DATA) return n < 15 ? DecodeResult::NeedMore : DecodeResult::TooLong;
    if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) return DecodeResult::TooLong;
    // Still record the length we can tell for diagnostics.
    out.len = 1;
    out.bytes[0] = bytes[0];
    return DecodeResult::Invalid;
  }
  out.len = zi.length;
  out.mnemonic = static_cast<uint16_t>(zi.mnemonic);
  std::memcpy(out.bytes, bytes, zi.length);
  out.opsize = static_cast<uint8_t>(zi.operand_width / 8);
  out.addrsize = static_cast<uint8_t>(zi.address_width / 8);
  out.stacksize = static_cast<uint8_t>(zi.stack_width / 8);
  out.far = zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
  const auto a = zi.attributes;
  if (a & ZYDIS_ATTRIB_HAS_LOCK) out.prefixes |= prefix::LOCK;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT) out.prefixes |= prefix::SEGOVR;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) out.seg = ES;
  else if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) out.seg = CS;
  else if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) out.seg = SS;
  else if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) out.seg = FS;
  else if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) out.seg = GS;
  else out.seg = DS;
  if (is_string(zi.mnemonic)) {
    // The last F2/F3 prefix decides, as on the processor (F2 on MOVS acts as REP).
    for (int i = 0; i < zi.raw.prefix_count; ++i) {
      const uint8_t v = zi.raw.prefixes[i].value;
      if (v == 0xF3) out.prefixes = (out.prefixes & ~prefix::REPNE) | prefix::REP;
      if (v == 0xF2) out.prefixes = (out.prefixes & ~prefix::REP) | prefix::REPNE;
    }
  }

  // Operands: the explicit and implicit ones Zydis shows; hidden ones are the semantic
  // function's business.
  Form form = out.far ? Form::Far : Form::Any;
  int k = 0;
  for (int i = 0; i < zi.operand_count && k < 3; ++i) {
    const ZydisDecodedOperand& o = zo[i];
    if (o.visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) continue;
    Operand& op = out.ops[k++];
    op.size = static_cast<uint8_t>((o.size + 7) / 8);
    switch (o.type) {
      case ZYDIS_OPERAND_TYPE_REGISTER:
        op.kind = OpKind::Reg;
        map_register(o.reg.value, op.rclass, op.reg);
        if (op.rclass == RegClass::Cr) form = Form::Cr;
        if (op.rclass == RegClass::Dr) form = Form::Dr;
        if (op.rclass == RegClass::Seg) {
          if (zi.mnemonic == ZYDIS_MNEMONIC_MOV) form = (k == 1) ? Form::SegDst : Form::SegSrc;
          if (zi.mnemonic == ZYDIS_MNEMONIC_PUSH || zi.mnemonic == ZYDIS_MNEMONIC_POP) form = Form::SegOp;
        }
        break;
      case ZYDIS_OPERAND_TYPE_MEMORY:
        op.kind = OpKind::Mem;
        op.seg = seg_index(o.mem.segment);
        op.base = gpr_index(o.mem.base);
        op.index = gpr_index(o.mem.index);
        op.scale = op.index == kNoReg ? 0 : o.mem.scale;
        op.disp = o.mem.disp.has_displacement ? static_cast<uint32_t>(o.mem.disp.value) : 0;
        break;
      case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        op.kind = OpKind::Imm;
        op.disp = static_cast<uint32_t>(o.imm.value.u);
        break;
      case ZYDIS_OPERAND_TYPE_POINTER:
        op.kind = OpKind::Ptr;
        op.ptr_seg = o.ptr.segment;
        op.disp = o.ptr.offset;
        break;
      default:
        break;
    }
  }
  out.nops = static_cast<uint8_t>(k);
  const int row = find_row(zi.mnemonic, form);
  if (row < 0) {
    out.row = 0;
    out.fn = nullptr;  // not implemented: the caller raises #UD and logs once
    return DecodeResult::Ok;
  }
  out.row = static_cast<uint16_t>(row);
  out.fn = kInsnTable[row].fn;
  out.census = kInsnTable[row].cls != InsnClass::Innocuous;
  if ((out.prefixes & prefix::LOCK) &&
      (!(kInsnTable[row].attrs & iattr::LOCKABLE) || out.ops[0].kind != OpKind::Mem)) {
    return DecodeResult::Invalid;  // LOCK on a non-lockable form is #UD
  }
  return DecodeResult::Ok;
}

}  // namespace popek::cpu
