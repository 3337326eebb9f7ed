// What `swarmboot-agent install` tells /init (the status file) and swarmbootd (reports). The status file is
// mount mode's (agent_status.hpp) plus the install's fields; its "progress" is the share of pieces on the
// target, which is what /init shows. Reports carry the host state the server's state table knows for an
// install — installing, installed, failed (with the reason as "message") — see server/core/host_report.cpp.
// Pure: values in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent_status.hpp"

namespace swarmboot::agent {

struct InstallStatus {
  // agent.state is the install's phase: starting|scanning|installing|verifying|installed|failed.
  AgentStatus agent;
  std::string target;             // "/dev/vda" or a file
  int pieces_on_target = 0;
  int pieces_resumed = 0;         // found on the target by the start-up scan
  std::int64_t bytes_written = 0; // copied to the target by this run
  std::string message;            // the reason when failed; the summary when installed

  double progress() const {
    return agent.pieces_total == 0 ? 0.0 : static_cast<double>(pieces_on_target) / agent.pieces_total;
  }
};

// The host state a phase reports: "failed", "installed", else "installing".
std::string_view host_state_for(std::string_view phase);

// The status file's JSON object, one line.
std::string install_status_json(const InstallStatus& status);
// The body POSTed to --report: {"state", "stage": "install", "progress", "message"?, "agent": status}.
std::string install_report_json(const InstallStatus& status);

}  // namespace swarmboot::agent
