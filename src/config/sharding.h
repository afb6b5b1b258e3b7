#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgvigil::config {

// FNV-1a, 64 bits: the same on every build and platform, unlike std::hash (a target keeps its
// schedule phase and its shard across versions and machines).
[[nodiscard]] std::uint64_t StableHash(std::string_view text);

// Sharding over several agents: the targets that agent `index` of `count` watches. Rendezvous
// hashing of the target's name (a stable hash), so every target goes to exactly one shard and
// going from n to n+1 shards moves only about 1/(n+1) of them.
[[nodiscard]] bool InShard(const std::string& target, unsigned index, unsigned count);

}  // namespace pgvigil::config
