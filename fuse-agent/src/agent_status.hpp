// The agent's status as the team contract defines it: the JSON of the status file (rewritten about once a
// second) and of the "agent" object posted to swarmbootd's host events API. Pure: values in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace swarmboot::agent {

struct AgentStatus {
  std::string state = "starting";  // starting|downloading|seeding|error
  std::string image;
  std::string info_hash;
  int pieces_have = 0;
  int pieces_total = 0;
  std::int64_t bytes_from_peers = 0;
  std::int64_t bytes_from_webseed = 0;
  std::int64_t bytes_uploaded = 0;
  // Received but thrown away: blocks that arrived twice (timeouts, end game) and pieces that failed their hash.
  // Every such byte took a share of a link that a missing block could have used.
  std::int64_t bytes_wasted = 0;
  int peers = 0;
  int parked_reads = 0;
  double read_latency_p50_ms = 0;
  double read_latency_p99_ms = 0;
  std::int64_t download_rate = 0;  // bytes/s
  std::int64_t upload_rate = 0;
  std::string message;             // why, when state is "error"; not in the JSON otherwise

  double progress() const { return pieces_total == 0 ? 0.0 : static_cast<double>(pieces_have) / pieces_total; }
};

// The status file's JSON object, one line.
std::string status_json(const AgentStatus& status);
// The body POSTed to --report: {"agent": status, "progress": fraction[, "message": …]}.
std::string report_json(const AgentStatus& status);

// The q-quantile (0..1) of `samples` (nearest rank); 0 for none. Takes a copy: it sorts.
double percentile(std::vector<double> samples, double q);

}  // namespace swarmboot::agent
