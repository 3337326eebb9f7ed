// Transition table of host states; see host_state.hpp.
#include "core/host_state.hpp"

namespace swarmboot::server {

std::string_view to_string(HostState state) {
  switch (state) {
    case HostState::fresh:
      return "new";
    case HostState::booting:
      return "booting";
    case HostState::running:
      return "running";
    case HostState::installing:
      return "installing";
    case HostState::installed:
      return "installed";
    case HostState::failed:
      return "failed";
  }
  return "unknown";
}

std::string_view to_string(BootMode mode) {
  switch (mode) {
    case BootMode::diskless:
      return "diskless";
    case BootMode::install:
      return "install";
    case BootMode::hypervisor:
      return "hypervisor";
  }
  return "unknown";
}

Result<HostState> parse_host_state(std::string_view text) {
  for (auto s : {HostState::fresh, HostState::booting, HostState::running, HostState::installing,
                 HostState::installed, HostState::failed}) {
    if (text == to_string(s)) return s;
  }
  return Error{"invalid host state '" + std::string(text.substr(0, 40)) +
               "': expected new, booting, running, installing, installed or failed"};
}

Result<BootMode> parse_boot_mode(std::string_view text) {
  for (auto m : {BootMode::diskless, BootMode::install, BootMode::hypervisor}) {
    if (text == to_string(m)) return m;
  }
  return Error{"invalid boot mode '" + std::string(text.substr(0, 40)) +
               "': expected diskless, install or hypervisor"};
}

Status check_transition(BootMode mode, HostState from, HostState to) {
  using S = HostState;
  if (from == to || to == S::failed) return {};
  const bool installs = mode == BootMode::install;
  bool allowed = false;
  switch (to) {
    case S::booting:
      allowed = !installs && (from == S::fresh || from == S::running || from == S::failed);
      break;
    case S::running:
      allowed = !installs && from == S::booting;
      break;
    case S::installing:
      allowed = installs && (from == S::fresh || from == S::failed);
      break;
    case S::installed:
      allowed = installs && from == S::installing;
      break;
    case S::fresh:
      allowed = false;
      break;  // only an administrator's reimage returns a host to new
    case S::failed:
      allowed = true;
      break;
  }
  if (allowed) return {};
  std::string why;
  if (to == S::fresh) {
    why = "only a reimage returns a host to new";
  } else if ((to == S::installing || to == S::installed) && !installs) {
    why = "the host's mode is " + std::string(to_string(mode)) + ", not install";
  } else if ((to == S::booting || to == S::running) && installs) {
    why = "the host's mode is install";
  } else if (from == S::installed) {
    why = "an installed host boots its disk until it is reimaged";
  } else {
    why = "not a step of the " + std::string(to_string(mode)) + " life cycle";
  }
  return Error{"could not change state from " + std::string(to_string(from)) + " to " +
               std::string(to_string(to)) + ": " + why};
}

HostState state_after_assignment(HostState current) {
  return current == HostState::installed ? HostState::installed : HostState::fresh;
}

}  // namespace swarmboot::server
