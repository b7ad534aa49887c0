#include "cpu/insn_table.h"

#include <array>
#include <vector>

namespace popek::cpu {

using enum InsnClass;
using enum Form;
using namespace iattr;
using namespace dataflow;
constexpr uint8_t NONE = 0;

const InsnRow kInsnTable[] = {
#define INSN(name, mnemonic, form, fn, cls, attrs, flags_read, flags_written, flags_undef, \
             gprs_read, gprs_written, may_fault)                                         \
  {#name, ZYDIS_MNEMONIC_##mnemonic, form, &ops::fn, cls, attrs, flags_read, flags_written, \
   flags_undef, gprs_read, gprs_written, may_fault},
#include "cpu/ops/all.def"
#undef INSN
};
const size_t kInsnTableSize = sizeof(kInsnTable) / sizeof(kInsnTable[0]);

const char* class_name(InsnClass c) {
  switch (c) {
    case Innocuous: return "innocuous";
    case Sensitive: return "sensitive";
    case Privileged: return "privileged";
    case Io: return "io";
  }
  return "?";
}

int find_row(ZydisMnemonic m, Form f) {
  // First row for each mnemonic; rows of one mnemonic are contiguous in the .def files
  // or not, so scan them all once and keep a small list per mnemonic.
  static const auto index = [] {
    std::vector<std::vector<int>> ix(ZYDIS_MNEMONIC_MAX_VALUE + 1);
    for (size_t i = 0; i < kInsnTableSize; ++i) ix[kInsnTable[i].mnemonic].push_back(static_cast<int>(i));
    return ix;
  }();
  if (m > ZYDIS_MNEMONIC_MAX_VALUE) return -1;
  int any = -1;
  for (int r : index[m]) {
    if (kInsnTable[r].form == f) return r;
    if (kInsnTable[r].form == Any) any = r;
  }
  return any;
}

}  // namespace popek::cpu
