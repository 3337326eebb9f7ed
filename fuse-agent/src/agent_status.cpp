// Status JSON (see agent_status.hpp).
#include "agent_status.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace swarmboot::agent {

namespace {

nlohmann::json to_json_object(const AgentStatus& s) {
  nlohmann::json j = {{"state", s.state},
                      {"image", s.image},
                      {"info_hash", s.info_hash},
                      {"pieces_have", s.pieces_have},
                      {"pieces_total", s.pieces_total},
                      {"progress", s.progress()},
                      {"bytes_from_peers", s.bytes_from_peers},
                      {"bytes_from_webseed", s.bytes_from_webseed},
                      {"bytes_uploaded", s.bytes_uploaded},
                      {"bytes_wasted", s.bytes_wasted},
                      {"peers", s.peers},
                      {"parked_reads", s.parked_reads},
                      {"read_latency_ms", {{"p50", s.read_latency_p50_ms}, {"p99", s.read_latency_p99_ms}}},
                      {"download_rate", s.download_rate},
                      {"upload_rate", s.upload_rate}};
  if (s.state == "error" && !s.message.empty()) j["message"] = s.message;
  return j;
}

}  // namespace

std::string status_json(const AgentStatus& status) { return to_json_object(status).dump(); }

std::string report_json(const AgentStatus& status) {
  nlohmann::json j = {{"agent", to_json_object(status)}, {"progress", status.progress()}};
  if (!status.message.empty()) j["message"] = status.message;
  return j.dump();
}

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace swarmboot::agent
