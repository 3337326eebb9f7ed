// `--lt-setting NAME=VALUE`: raw libtorrent settings over the LAN tuning, for tests (e.g. one disk thread
// to widen the hash-before-write window) and for benchmarks comparing knobs. Not for production use.
#pragma once

#include <libtorrent/settings_pack.hpp>

#include <string>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot::agent {

Status apply_lt_settings(const std::vector<std::string>& assignments, lt::settings_pack& pack);

}  // namespace swarmboot::agent
