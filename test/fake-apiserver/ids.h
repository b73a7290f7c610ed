#pragma once
// Random identifiers the server assigns: metadata.uid (UUID v4) and generateName suffixes. Seeded
// explicitly so unit tests can be deterministic.
#include <cstdint>
#include <random>
#include <string>

namespace fake {

class IdGenerator {
 public:
  explicit IdGenerator(std::uint64_t seed) : rng_(seed) {}
  static IdGenerator from_entropy() {
    return IdGenerator((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  }

  std::string uuid4();
  // Five characters from the alphabet of apiserver's names.SimpleNameGenerator.
  std::string name_suffix();
  // A uniformly distributed number in [0, 1) for fault decisions.
  double unit();
  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

}  // namespace fake
