// The libtorrent session every swarm subcommand (mount, vm, install) runs: swarmcore's LAN tuning plus what an
// agent needs on top. Pure: builds settings, opens nothing.
#pragma once

#include <libtorrent/session_params.hpp>

#include "agent_options.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// Most peers one agent keeps connections to (libtorrent's connections_limit; --lt-setting overrides it).
inline constexpr int kAgentPeerLimit = 24;

// swarmcore's LAN tuning on the options' listen address, plus what an agent needs on top: a quick tracker
// stop (the host is rebooting), piece priorities from the first piece, kAgentPeerLimit peers, the
// --lt-setting overrides, and mmap_disk_io (the write fence's reasoning is about its job fences). Errors name
// the bad --lt-setting.
Result<lt::session_params> agent_session_params(const SwarmOptions& options);

}  // namespace swarmboot::agent
