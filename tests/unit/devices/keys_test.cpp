// Key names and the scan codes the keyboard sends through the i8042, with and without
// the controller's set 2 to set 1 translation.
#include <gtest/gtest.h>

#include <vector>

#include "bus/bus.h"
#include "devices/i8042.h"
#include "devices/keys.h"

namespace popek::devices {
namespace {

class Keys : public ::testing::Test {
 protected:
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> out;
    while (bus.io_read(0x64, 1) & kbc::ST_OBF) out.push_back(static_cast<uint8_t>(bus.io_read(0x60, 1)));
    return out;
  }
  void press_release(const char* name) {
    const KeyCodes* k = find_key(name);
    ASSERT_NE(k, nullptr) << name;
    ASSERT_TRUE(send_key(kbc, *k, true));
    ASSERT_TRUE(send_key(kbc, *k, false));
  }
  bus::Bus bus{1 << 20};
  I8042 kbc{bus};
};

TEST_F(Keys, NamesAsQemuSpellsThem) {
  EXPECT_NE(find_key("ret"), nullptr);
  EXPECT_EQ(find_key("RET"), find_key("ret"));
  EXPECT_EQ(find_key("enter"), find_key("ret"));
  EXPECT_EQ(find_key("8")->set1, 0x09);
  EXPECT_EQ(find_key("a")->set2, 0x1C);
  EXPECT_EQ(find_key("nosuchkey"), nullptr);
}

TEST_F(Keys, TranslatedSet1CodesWithBreakBit) {
  (void)drain();
  press_release("a");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x1E, 0x9E}));
  press_release("up");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xE0, 0x48, 0xE0, 0xC8}));
}

TEST_F(Keys, UntranslatedSet2CodesWithF0Break) {
  (void)drain();
  bus.io_write(0x64, 1, 0x60);  // write the command byte: interrupts off, no translation
  bus.io_write(0x60, 1, 0x00);
  (void)drain();
  press_release("a");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x1C, 0xF0, 0x1C}));
  press_release("delete");
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xE0, 0x71, 0xE0, 0xF0, 0x71}));
}

TEST_F(Keys, CharactersOfAUsKeyboard) {
  bool shift = true;
  EXPECT_EQ(key_for_char('a', shift), find_key("a"));
  EXPECT_FALSE(shift);
  EXPECT_EQ(key_for_char('A', shift), find_key("a"));
  EXPECT_TRUE(shift);
  EXPECT_EQ(key_for_char('!', shift), find_key("1"));
  EXPECT_TRUE(shift);
  EXPECT_EQ(key_for_char('(', shift), find_key("9"));
  EXPECT_EQ(key_for_char(')', shift), find_key("0"));
  EXPECT_EQ(key_for_char('"', shift), find_key("apostrophe"));
  EXPECT_TRUE(shift);
  EXPECT_EQ(key_for_char('|', shift), find_key("backslash"));
  EXPECT_EQ(key_for_char('/', shift), find_key("slash"));
  EXPECT_FALSE(shift);
  EXPECT_EQ(key_for_char('\r', shift), find_key("ret"));
  EXPECT_EQ(key_for_char(' ', shift), find_key("spc"));
  EXPECT_EQ(key_for_char('\x01', shift), nullptr);
}

}  // namespace
}  // namespace popek::devices
