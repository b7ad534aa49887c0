// The one archive type behind every device state's visit() (DESIGN.md, "Devices, time
// and determinism"): the same visitor shape saves a state to bytes, loads it back and
// hashes it, so snapshots, record/replay checkpoints and state comparisons all read a
// state the same way.
//
// A visit() calls v("name", field) for each field, in a fixed order. Fields may be
// integers, bools and enums, fixed arrays (C or std::array) of fields, std::vector of
// fields (saved with its length), and structs with their own visit(). The bytes are
// little-endian and carry no names: a state's layout is its visit() and its kVersion
// (the snapshot format, later, keeps the version and a checksum per section).
//
//   StateWriter w;          state.visit(w);      // w.bytes()
//   StateReader r(bytes);   state.visit(r);      // r.done() or StateError
//   StateHasher h;          state.visit(h);      // h.value()
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace popek::bus {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace archive_detail {

template <class T, class V>
concept Visitable = requires(T& t, V& v) { t.visit(v); };

template <class T>
struct IsStdArray : std::false_type {};
template <class T, size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

// Walks one field with the visitor's scalar operation `Scalar(name, bytes, size)`
// (little-endian bytes of an integer), recursing through arrays, vectors and structs.
template <class Visitor, class T>
void walk(Visitor& v, const char* name, T& field) {
  if constexpr (std::is_enum_v<T>) {
    auto raw = static_cast<std::underlying_type_t<T>>(field);
    walk(v, name, raw);
    field = static_cast<T>(raw);
  } else if constexpr (std::is_same_v<T, bool>) {
    uint8_t b = field ? 1 : 0;
    v.scalar(name, &b, 1);
    if (b > 1) v.fail(name, "a bool that is neither 0 nor 1");
    field = b != 0;
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    U u = static_cast<U>(field);
    uint8_t b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<uint8_t>(u >> (8 * i));
    v.scalar(name, b, sizeof(U));
    u = 0;
    for (size_t i = 0; i < sizeof(U); ++i) u = static_cast<U>(u | (static_cast<U>(b[i]) << (8 * i)));
    field = static_cast<T>(u);
  } else if constexpr (std::is_array_v<T> || IsStdArray<T>::value) {
    for (auto& e : field) walk(v, name, e);
  } else if constexpr (IsVector<T>::value) {
    uint32_t n = static_cast<uint32_t>(field.size());
    walk(v, name, n);
    if (n != field.size()) v.resize(name, field, n);
    if constexpr (std::is_same_v<typename T::value_type, uint8_t>) {
      v.scalar(name, field.data(), field.size());  // byte buffers (video memory) in one go
    } else {
      for (auto& e : field) walk(v, name, e);
    }
  } else if constexpr (Visitable<T, Visitor>) {
    field.visit(v);
  } else {
    static_assert(sizeof(T) == 0, "a field type the state archive cannot save");
  }
}

}  // namespace archive_detail

// Appends each field's bytes.
class StateWriter {
 public:
  template <class T>
  void operator()(const char* name, T& field) { archive_detail::walk(*this, name, field); }
  const std::vector<uint8_t>& bytes() const { return out_; }

  void scalar(const char*, uint8_t* b, size_t n) { out_.insert(out_.end(), b, b + n); }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  [[noreturn]] void fail(const char* name, const char* what) {
    throw StateError(std::string("saving ") + name + ": " + what);
  }

 private:
  std::vector<uint8_t> out_;
};

// Reads the fields back in the same order. Throws StateError naming the field when the
// bytes end early, a vector is longer than `max_vector` elements, or a bool is not 0/1.
class StateReader {
 public:
  explicit StateReader(const std::vector<uint8_t>& bytes, size_t max_vector = 64u << 20)
      : data_(bytes.data()), size_(bytes.size()), max_vector_(max_vector) {}
  template <class T>
  void operator()(const char* name, T& field) { archive_detail::walk(*this, name, field); }
  // Every byte was read.
  bool done() const { return pos_ == size_; }

  void scalar(const char* name, uint8_t* b, size_t n) {
    if (size_ - pos_ < n) fail(name, "the saved state ends here");
    std::memcpy(b, data_ + pos_, n);
    pos_ += n;
  }
  template <class Vec>
  void resize(const char* name, Vec& v, uint32_t n) {
    if (n > max_vector_) fail(name, "a saved length beyond any this state can have");
    v.resize(n);
  }
  [[noreturn]] void fail(const char* name, const char* what) {
    throw StateError(std::string("loading ") + name + " at byte " + std::to_string(pos_) + ": " + what);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t max_vector_;
};

// A fast 64-bit hash of many bytes (RAM, snapshot sections) from `seed`: eight bytes at a
// time, multiply and fold, then the tail byte by byte as FNV-1a (which alone would take a
// second per GiB).
inline uint64_t hash_bytes(uint64_t seed, const uint8_t* p, size_t n) {
  uint64_t r = seed;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    r = (r ^ w) * 0x9E3779B97F4A7C15ull;
    r ^= r >> 29;
  }
  for (; i < n; ++i) r = (r ^ p[i]) * 0x100000001B3ull;
  return r;
}

// A 64-bit FNV-1a hash of the bytes StateWriter would produce.
class StateHasher {
 public:
  template <class T>
  void operator()(const char* name, T& field) { archive_detail::walk(*this, name, field); }
  uint64_t value() const { return h_; }

  void scalar(const char*, uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001B3ull;
  }
  template <class Vec>
  void resize(const char*, Vec&, uint32_t) {}
  [[noreturn]] void fail(const char* name, const char* what) {
    throw StateError(std::string("hashing ") + name + ": " + what);
  }

 private:
  uint64_t h_ = 0xCBF29CE484222325ull;
};

}  // namespace popek::bus
