// The life of a host, as a pure state machine. Agents and booted images report states; the server applies a
// reported state only when this table allows it, so a late or replayed report can never move, say, an
// installed host back to "installing". Administrators act outside the table: `reimage` always returns a host
// to `new`.
//
//   diskless / hypervisor:  new → booting → running   (running → booting again on the next boot)
//   install:                new → installing → installed   (installed then boots its local disk)
//   any state → failed (with a reason); failed → booting / installing (the next attempt)
#pragma once

#include <string>
#include <string_view>

#include "swarmcore/result.hpp"

namespace swarmboot::server {

enum class HostState { fresh, booting, running, installing, installed, failed };  // `fresh` is spelled "new"
enum class BootMode { diskless, install, hypervisor };

std::string_view to_string(HostState state);
std::string_view to_string(BootMode mode);
Result<HostState> parse_host_state(std::string_view text);
Result<BootMode> parse_boot_mode(std::string_view text);

// Whether a host in `mode` may move from `from` to `to` on a report. Staying in the same state is allowed
// (reports repeat). The error says why not, e.g. "could not change state from installed to installing: …".
Status check_transition(BootMode mode, HostState from, HostState to);

// The state a host takes when an administrator changes its image or mode: an installed host keeps booting its
// disk until someone asks to reimage it; every other host starts over as new.
HostState state_after_assignment(HostState current);

}  // namespace swarmboot::server
