#include "ids.h"

#include <cstdio>

namespace fake {

std::string IdGenerator::uuid4() {
  std::uniform_int_distribution<std::uint32_t> word;
  std::uint32_t w[4] = {word(rng_), word(rng_), word(rng_), word(rng_)};
  w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // version 4
  w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%08x-%04x-%04x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xffffu, w[2] >> 16,
                w[2] & 0xffffu, w[3]);
  return out;
}

std::string IdGenerator::name_suffix() {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 2);
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[pick(rng_)];
  return s;
}

double IdGenerator::unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

}  // namespace fake
