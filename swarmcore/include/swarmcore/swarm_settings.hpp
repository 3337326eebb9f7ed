// libtorrent settings for a provisioning LAN, shared by the server's seeder, the agent and the benchmarks,
// so that what is measured in bench/ is exactly what runs. Each choice is explained at its line in the .cpp.
#pragma once

#include <libtorrent/settings_pack.hpp>

#include <string>

namespace swarmboot {

struct SwarmTuning {
  std::string listen_interfaces = "0.0.0.0:6881";  // libtorrent syntax, e.g. "10.99.0.2:6881"
  bool local_service_discovery = false;            // LSD multicast; off where the LAN forbids it
  int upload_rate_limit = 0;                       // bytes/s, 0 = none
  int download_rate_limit = 0;                     // bytes/s, 0 = none
  bool lan_tuned = true;                           // false: libtorrent defaults (benchmarks compare both)
};

// A settings_pack for a LAN swarm: TCP only, no DHT/UPnP/NAT-PMP, unchoke all, deep request queues,
// short timeouts, large alert queue. Hash checks stay on.
lt::settings_pack swarm_settings(const SwarmTuning& tuning);

}  // namespace swarmboot
