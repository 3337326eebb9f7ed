// LAN swarm tuning. Starting points from DESIGN.md ("LAN swarm tuning"); bench/ measures them.
#include "swarmcore/swarm_settings.hpp"

#include <libtorrent/alert.hpp>
#include <libtorrent/session.hpp>

namespace swarmboot {

lt::settings_pack swarm_settings(const SwarmTuning& tuning) {
  using sp = lt::settings_pack;
  lt::settings_pack s = tuning.lan_tuned ? lt::high_performance_seed() : lt::default_settings();

  s.set_str(sp::listen_interfaces, tuning.listen_interfaces);
  s.set_str(sp::user_agent, "swarmboot/0.1");
  // Everything the agent and server react to; the queue is large because dropping a piece alert would
  // leave a read parked (alerts_dropped_alert triggers a resync anyway).
  s.set_int(sp::alert_mask, lt::alert_category::error | lt::alert_category::status | lt::alert_category::storage |
                                lt::alert_category::piece_progress | lt::alert_category::peer |
                                lt::alert_category::tracker | lt::alert_category::file_progress);
  s.set_int(sp::alert_queue_size, 100000);
  // A closed provisioning network: no DHT, no router port mapping, no uTP (TCP is cheaper on CPU here).
  s.set_bool(sp::enable_dht, false);
  s.set_bool(sp::enable_upnp, false);
  s.set_bool(sp::enable_natpmp, false);
  s.set_bool(sp::enable_lsd, tuning.local_service_discovery);
  s.set_bool(sp::enable_outgoing_utp, false);
  s.set_bool(sp::enable_incoming_utp, false);
  s.set_int(sp::upload_rate_limit, tuning.upload_rate_limit);
  s.set_int(sp::download_rate_limit, tuning.download_rate_limit);
  if (!tuning.lan_tuned) return s;

  // Test beds and NATed racks put several hosts behind one address.
  s.set_bool(sp::allow_multiple_connections_per_ip, true);
  // Unchoke every interested peer: on a LAN tit-for-tat only slows the pipeline.
  s.set_int(sp::unchoke_slots_limit, -1);
  s.set_int(sp::seed_choking_algorithm, sp::fastest_upload);
  s.set_int(sp::choking_algorithm, sp::fixed_slots_choker);
  // Deep request pipelines keep fast links busy.
  s.set_int(sp::max_out_request_queue, 1500);
  s.set_int(sp::max_allowed_in_request_queue, 2000);
  s.set_int(sp::request_queue_time, 2);
  // Short timeouts: a dead host must not hold pieces hostage.
  s.set_int(sp::peer_connect_timeout, 3);
  s.set_int(sp::request_timeout, 10);
  s.set_int(sp::piece_timeout, 5);
  s.set_int(sp::inactivity_timeout, 60);
  s.set_int(sp::min_reconnect_time, 1);
  s.set_int(sp::max_failcount, 10);
  s.set_int(sp::connection_speed, 200);
  s.set_bool(sp::smooth_connects, false);
  // Request a block twice only in the true end game. With false (DESIGN.md's starting point) an idle
  // connection re-requests blocks already in flight elsewhere: at N = 32 every host threw away 43% of what it
  // received (bytes_wasted in the agent's status), 5% with true; 83 s instead of 106 s (docs/benchmarks.md).
  s.set_bool(sp::strict_end_game_mode, true);
  // Short send queues. high_performance_seed() keeps at least 1 MiB per connection in libtorrent's send buffer
  // plus a 1 MiB socket buffer: a seed feeding 32 downloaders at ~30 KB/s each could send a block ~30 s after
  // it was requested, long after the requester gave up on it. No difference was measured at N = 32 (64.8 s vs
  // 64.2 s); libtorrent's defaults, which size the queue to half a second of each peer's rate, remove the risk.
  s.set_int(sp::send_buffer_low_watermark, 10 * 1024);
  s.set_int(sp::send_buffer_watermark, 500 * 1024);
  s.set_int(sp::send_buffer_watermark_factor, 50);
  s.set_int(sp::send_socket_buffer_size, 0);
  s.set_int(sp::recv_socket_buffer_size, 0);
  // Two finished peers need nothing from each other: close the link. (The server's seeder keeps it under
  // spread seeding, which counts a finished host as a holder only while it is connected: seeder.cpp.)
  s.set_bool(sp::close_redundant_connections, true);
  s.set_int(sp::connections_limit, 2000);
  // Every torrent active: the appliance seeds every registered image at once.
  s.set_int(sp::active_downloads, -1);
  s.set_int(sp::active_seeds, -1);
  s.set_int(sp::active_limit, -1);
  s.set_int(sp::local_service_announce_interval, 10);
  // Web seed (BEP 19) fallback retries quickly.
  s.set_int(sp::urlseed_wait_retry, 2);
  s.set_int(sp::urlseed_timeout, 10);
  return s;
}

}  // namespace swarmboot
