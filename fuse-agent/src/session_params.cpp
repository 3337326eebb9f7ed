// Session parameters shared by the swarm subcommands (see session_params.hpp).
#include "session_params.hpp"

#include <libtorrent/mmap_disk_io.hpp>

#include "lt_overrides.hpp"
#include "swarmcore/swarm_settings.hpp"

namespace swarmboot::agent {

Result<lt::session_params> agent_session_params(const SwarmOptions& options) {
  SwarmTuning tuning;
  tuning.listen_interfaces = options.listen_address + ":" + std::to_string(options.listen_port);
  lt::settings_pack settings = swarm_settings(tuning);
  // A clean shutdown must not wait long on trackers: the host is rebooting.
  settings.set_int(lt::settings_pack::stop_tracker_timeout, 1);
  // Until a torrent has initial_picker_threshold pieces (default 4), libtorrent picks random pieces and ignores
  // piece priorities (peer_connection::picker_options: no rarest_first), so a booting host's first reads, with
  // deadline 0 / priority 7, waited behind ~10 random pieces: cold 4 MiB read 4.3–4.6× its wire time, 2.2–2.6×
  // with 0 (docs/benchmarks.md). On a LAN with a seed there is nothing to gain from random first pieces.
  settings.set_int(lt::settings_pack::initial_picker_threshold, 0);
  // A host talks to at most kAgentPeerLimit peers, not to the whole rack. Every peer it downloads from is one
  // more TCP flow converging on its switch port, and every peer unchoked (all of them) one more flow leaving
  // it: at N = 32 with no limit the hosts saw 3270 TCP retransmission timeouts in one run (tail drops at the
  // ports' queues that windows too small could not recover from by fast retransmit; 52 with a limit of 10)
  // and the two cores saturated; with 24 the CPU stayed at 74-81% and full distribution took 43.6-45.2 s
  // against 48.8-52.7 s (docs/benchmarks.md, "Reading the peer-limit sweep").
  settings.set_int(lt::settings_pack::connections_limit, kAgentPeerLimit);
  if (auto s = apply_lt_settings(options.lt_settings, settings); !s) return s.error();
  lt::session_params params(std::move(settings));
  // The write fence reasoning (write_fence.hpp) is about mmap_disk_io's job fences: say so explicitly.
  params.disk_io_constructor = lt::mmap_disk_io_constructor;
  return params;
}

}  // namespace swarmboot::agent
