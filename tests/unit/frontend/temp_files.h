// Scratch files for the frontend tests, removed when the object goes away.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace popek::frontend {

class TempFiles {
 public:
  ~TempFiles() {
    for (const std::string& p : paths_) std::remove(p.c_str());
  }
  // Write `data` to a new file named after `name` and the running test; returns its path.
  std::string write(const std::string& name, const std::vector<uint8_t>& data) {
    const std::string path = path_for(name);
    FILE* f = fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr) << path;
    if (f) {
      if (!data.empty()) fwrite(data.data(), 1, data.size(), f);
      fclose(f);
    }
    return path;
  }
  std::string write(const std::string& name, const std::string& text) {
    return write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }
  // A path in the temp dir that the object removes at the end (the file need not exist).
  std::string path_for(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "popek_" + (info ? info->name() : "x") + "_" + name;
    paths_.push_back(path);
    return path;
  }

 private:
  std::vector<std::string> paths_;
};

}  // namespace popek::frontend
