// Keys by QEMU's names (the monitor's sendkey, displays' key events) and the scan codes a
// PC keyboard sends for them.
//
// The keyboard speaks scan code set 2 unless told otherwise; the i8042 translates set 2
// to set 1 while its command byte says so (the PC default). send_key() produces what
// reaches the guest: set 1 codes when the controller translates, set 2 codes (F0 before
// a break code) when it does not. Set 3 is not produced: send_key() says so.
#pragma once

#include <cstdint>
#include <string>

#include "devices/i8042.h"

namespace popek::devices {

struct KeyCodes {
  const char* name;  // QEMU's key name: "a", "ret", "shift", "f1", "kp_add", ...
  uint8_t set1;      // make code in set 1 (break: | 0x80)
  uint8_t set2;      // make code in set 2 (break: F0 first)
  bool e0;           // extended key: E0 before make and break codes
};

// The key named `name` (QEMU's spelling, case-insensitive; single characters such as "8"
// or "a" name their key), or nullptr.
const KeyCodes* find_key(const std::string& name);
// The key that types the ASCII character `c` on a US keyboard, and whether shift must be
// held for it ('A' is shift-a, '!' is shift-1, '\n' is ret); nullptr for characters no
// key types.
const KeyCodes* key_for_char(char c, bool& shift);
// The keyboard sends the make (down) or break code of `key` to the controller. False
// (nothing sent) when the keyboard is in scan code set 3 without translation.
bool send_key(I8042& kbc, const KeyCodes& key, bool down);

}  // namespace popek::devices
