// Report application rules; see host_report.hpp.
#include "core/host_report.hpp"

namespace swarmboot::server {

Status apply_host_report(HostRecord& host, const HostEvent& report) {
  HostRecord next = host;
  if (report.state && *report.state != next.state) {
    if (auto s = check_transition(next.mode, next.state, *report.state); !s) return s;
    if (*report.state == HostState::booting || *report.state == HostState::installing) {
      next.progress_at_switch_root.reset();
      next.progress_at_booted.reset();
      next.progress = 0;
    }
    next.state = *report.state;
    next.reason =
        next.state == HostState::failed ? (report.message.empty() ? "no reason given" : report.message) : "";
  } else if (report.state == HostState::failed && !report.message.empty()) {
    next.reason = report.message;
  }
  if (report.progress) next.progress = *report.progress;
  if (report.stage == "switch_root") next.progress_at_switch_root = next.progress;
  if (report.stage == "booted") next.progress_at_booted = next.progress;
  host = std::move(next);
  return {};
}

void reimage_host(HostRecord& host) {
  host.state = HostState::fresh;
  host.reason.clear();
  host.progress = 0;
  host.progress_at_switch_root.reset();
  host.progress_at_booted.reset();
}

}  // namespace swarmboot::server
