#include "config/sharding.h"

namespace pgvigil::config {

std::uint64_t StableHash(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

bool InShard(const std::string& target, unsigned index, unsigned count) {
  // The shard with the highest weight takes the target. FNV-1a alone mixes its last bytes too
  // little to rank shards fairly: each weight goes through splitmix64's finalizer.
  const std::uint64_t name = StableHash(target);
  auto weight = [&](unsigned shard) {
    std::uint64_t x = name + (shard + 1) * 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  unsigned best = 0;
  for (unsigned shard = 1; shard < count; ++shard) {
    if (weight(shard) > weight(best)) best = shard;
  }
  return best == index;
}

}  // namespace pgvigil::config
