#include "agent/cluster.h"

#include <algorithm>

namespace pgvigil::agent {

struct ClusterShares::Membership::Registry {
  struct Member {
    std::uint32_t userid;
    std::uint32_t dbid;
    const pg::OwnLoad* load;
  };
  std::mutex mutex;
  std::uint64_t next_id = 1;
  std::map<std::string, std::map<std::uint64_t, Member>> clusters;
};

ClusterShares::ClusterShares() : registry_(std::make_shared<Membership::Registry>()) {}

ClusterShares::Membership::~Membership() {
  std::lock_guard lock(registry_->mutex);
  auto cluster = registry_->clusters.find(cluster_);
  if (cluster == registry_->clusters.end()) return;
  cluster->second.erase(id_);
  if (cluster->second.empty()) registry_->clusters.erase(cluster);
}

std::unique_ptr<ClusterShares::Membership> ClusterShares::Join(const std::string& cluster,
                                                               std::uint32_t userid,
                                                               std::uint32_t dbid,
                                                               const pg::OwnLoad& load) {
  std::lock_guard lock(registry_->mutex);
  const std::uint64_t id = registry_->next_id++;
  registry_->clusters[cluster][id] = {userid, dbid, &load};
  return std::unique_ptr<Membership>(new Membership(registry_, cluster, id));
}

std::vector<collectors::OwnStatements> ClusterShares::OwnLoad(const std::string& cluster) const {
  std::vector<collectors::OwnStatements> loads;
  // Under the lock: a member's load lives at least as long as its membership.
  std::lock_guard lock(registry_->mutex);
  const auto found = registry_->clusters.find(cluster);
  if (found == registry_->clusters.end()) return loads;
  for (const auto& [id, member] : found->second) {
    loads.push_back({id, member.userid, member.dbid, member.load->Statements()});
  }
  return loads;
}

std::shared_ptr<SharedCollector> ClusterShares::Collector(
    const std::string& key, const std::function<std::unique_ptr<collectors::Collector>()>& make) {
  std::lock_guard lock(mutex_);
  std::erase_if(collectors_, [](const auto& entry) { return entry.second.expired(); });
  if (auto existing = collectors_[key].lock()) return existing;
  auto made = std::make_shared<SharedCollector>();
  made->collector = make();
  collectors_[key] = made;
  return made;
}

std::string ClusterKey(const std::string& system, const std::string& address,
                       const std::string& port, std::uint32_t userid) {
  return system + '|' + address + '|' + port + '|' + std::to_string(userid);
}

}  // namespace pgvigil::agent
