#include "devices/keys.h"

#include <cctype>

namespace popek::devices {

namespace {

// IBM PC/AT 101/102-key keyboard: set 1 and set 2 make codes.
constexpr KeyCodes kKeys[] = {
    {"esc", 0x01, 0x76, false},       {"1", 0x02, 0x16, false},         {"2", 0x03, 0x1E, false},
    {"3", 0x04, 0x26, false},         {"4", 0x05, 0x25, false},         {"5", 0x06, 0x2E, false},
    {"6", 0x07, 0x36, false},         {"7", 0x08, 0x3D, false},         {"8", 0x09, 0x3E, false},
    {"9", 0x0A, 0x46, false},         {"0", 0x0B, 0x45, false},         {"minus", 0x0C, 0x4E, false},
    {"equal", 0x0D, 0x55, false},     {"backspace", 0x0E, 0x66, false}, {"tab", 0x0F, 0x0D, false},
    {"q", 0x10, 0x15, false},         {"w", 0x11, 0x1D, false},         {"e", 0x12, 0x24, false},
    {"r", 0x13, 0x2D, false},         {"t", 0x14, 0x2C, false},         {"y", 0x15, 0x35, false},
    {"u", 0x16, 0x3C, false},         {"i", 0x17, 0x43, false},         {"o", 0x18, 0x44, false},
    {"p", 0x19, 0x4D, false},         {"bracket_left", 0x1A, 0x54, false},
    {"bracket_right", 0x1B, 0x5B, false},                               {"ret", 0x1C, 0x5A, false},
    {"ctrl", 0x1D, 0x14, false},      {"a", 0x1E, 0x1C, false},         {"s", 0x1F, 0x1B, false},
    {"d", 0x20, 0x23, false},         {"f", 0x21, 0x2B, false},         {"g", 0x22, 0x34, false},
    {"h", 0x23, 0x33, false},         {"j", 0x24, 0x3B, false},         {"k", 0x25, 0x42, false},
    {"l", 0x26, 0x4B, false},         {"semicolon", 0x27, 0x4C, false}, {"apostrophe", 0x28, 0x52, false},
    {"grave_accent", 0x29, 0x0E, false},                                {"shift", 0x2A, 0x12, false},
    {"backslash", 0x2B, 0x5D, false}, {"z", 0x2C, 0x1A, false},         {"x", 0x2D, 0x22, false},
    {"c", 0x2E, 0x21, false},         {"v", 0x2F, 0x2A, false},         {"b", 0x30, 0x32, false},
    {"n", 0x31, 0x31, false},         {"m", 0x32, 0x3A, false},         {"comma", 0x33, 0x41, false},
    {"dot", 0x34, 0x49, false},       {"slash", 0x35, 0x4A, false},     {"shift_r", 0x36, 0x59, false},
    {"kp_multiply", 0x37, 0x7C, false},                                 {"alt", 0x38, 0x11, false},
    {"spc", 0x39, 0x29, false},       {"caps_lock", 0x3A, 0x58, false}, {"f1", 0x3B, 0x05, false},
    {"f2", 0x3C, 0x06, false},        {"f3", 0x3D, 0x04, false},        {"f4", 0x3E, 0x0C, false},
    {"f5", 0x3F, 0x03, false},        {"f6", 0x40, 0x0B, false},        {"f7", 0x41, 0x83, false},
    {"f8", 0x42, 0x0A, false},        {"f9", 0x43, 0x01, false},        {"f10", 0x44, 0x09, false},
    {"num_lock", 0x45, 0x77, false},  {"scroll_lock", 0x46, 0x7E, false},
    {"kp_7", 0x47, 0x6C, false},      {"kp_8", 0x48, 0x75, false},      {"kp_9", 0x49, 0x7D, false},
    {"kp_subtract", 0x4A, 0x7B, false},                                 {"kp_4", 0x4B, 0x6B, false},
    {"kp_5", 0x4C, 0x73, false},      {"kp_6", 0x4D, 0x74, false},      {"kp_add", 0x4E, 0x79, false},
    {"kp_1", 0x4F, 0x69, false},      {"kp_2", 0x50, 0x72, false},      {"kp_3", 0x51, 0x7A, false},
    {"kp_0", 0x52, 0x70, false},      {"kp_decimal", 0x53, 0x71, false}, {"less", 0x56, 0x61, false},
    {"f11", 0x57, 0x78, false},       {"f12", 0x58, 0x07, false},
    {"kp_enter", 0x1C, 0x5A, true},   {"ctrl_r", 0x1D, 0x14, true},     {"kp_divide", 0x35, 0x4A, true},
    {"alt_r", 0x38, 0x11, true},      {"home", 0x47, 0x6C, true},       {"up", 0x48, 0x75, true},
    {"pgup", 0x49, 0x7D, true},       {"left", 0x4B, 0x6B, true},       {"right", 0x4D, 0x74, true},
    {"end", 0x4F, 0x69, true},        {"down", 0x50, 0x72, true},       {"pgdn", 0x51, 0x7A, true},
    {"insert", 0x52, 0x70, true},     {"delete", 0x53, 0x71, true},     {"meta_l", 0x5B, 0x1F, true},
    {"meta_r", 0x5C, 0x27, true},     {"menu", 0x5D, 0x2F, true},
};

// QEMU's other spellings of some keys.
struct Alias {
  const char* alias;
  const char* name;
};
constexpr Alias kAliases[] = {
    {"enter", "ret"},  {"return", "ret"},   {"space", "spc"},     {"asterisk", "kp_multiply"},
    {"control", "ctrl"}, {"escape", "esc"}, {"page_up", "pgup"},  {"page_down", "pgdn"},
    {"del", "delete"}, {"ins", "insert"},   {"-", "minus"},       {"=", "equal"},
    {"[", "bracket_left"}, {"]", "bracket_right"}, {";", "semicolon"}, {"'", "apostrophe"},
    {"`", "grave_accent"}, {"\\", "backslash"}, {",", "comma"},    {".", "dot"},
    {"/", "slash"},
};

}  // namespace

const KeyCodes* find_key(const std::string& name_in) {
  std::string name;
  for (char c : name_in) name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const Alias& a : kAliases) {
    if (name == a.alias) {
      name = a.name;
      break;
    }
  }
  for (const KeyCodes& k : kKeys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

const KeyCodes* key_for_char(char c, bool& shift) {
  shift = false;
  if (c >= 'A' && c <= 'Z') {
    shift = true;
    return find_key(std::string(1, static_cast<char>(c - 'A' + 'a')));
  }
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return find_key(std::string(1, c));
  static constexpr const char kPlain[] = "-=[];'`\\,./";
  static constexpr const char kShifted[] = "_+{}:\"~|<>?";
  static constexpr const char kShiftedDigits[] = ")!@#$%^&*(";
  for (unsigned i = 0; kPlain[i]; ++i) {
    if (c == kPlain[i]) return find_key(std::string(1, c));
    if (c == kShifted[i]) {
      shift = true;
      return find_key(std::string(1, kPlain[i]));
    }
  }
  for (unsigned i = 0; i < 10; ++i) {
    if (c == kShiftedDigits[i]) {
      shift = true;
      return find_key(std::string(1, static_cast<char>('0' + i)));
    }
  }
  switch (c) {
    case ' ': return find_key("spc");
    case '\n': case '\r': return find_key("ret");
    case '\t': return find_key("tab");
    case '\b': case 0x7F: return find_key("backspace");
    case 0x1B: return find_key("esc");
    default: return nullptr;
  }
}

bool send_key(I8042& kbc, const KeyCodes& key, bool down) {
  const uint8_t set = kbc.state.kbd_scancode_set;
  if (kbc.translating() || set == 1) {
    // Set 2 translated by the controller gives set 1 codes (as does a keyboard in set 1
    // behind a controller that passes bytes through).
    if (key.e0) kbc.push_scancode(0xE0);
    kbc.push_scancode(static_cast<uint8_t>(down ? key.set1 : key.set1 | 0x80));
    return true;
  }
  if (set == 2) {
    if (key.e0) kbc.push_scancode(0xE0);
    if (!down) kbc.push_scancode(0xF0);
    kbc.push_scancode(key.set2);
    return true;
  }
  return false;  // scan code set 3 without translation
}

}  // namespace popek::devices
