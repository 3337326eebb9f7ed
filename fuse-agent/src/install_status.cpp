// Install status and report JSON (see install_status.hpp).
#include "install_status.hpp"

#include <nlohmann/json.hpp>

namespace swarmboot::agent {

namespace {

nlohmann::json status_object(const InstallStatus& s) {
  nlohmann::json j = nlohmann::json::parse(status_json(s.agent));
  j["progress"] = s.progress();
  j["target"] = s.target;
  j["pieces_on_target"] = s.pieces_on_target;
  j["pieces_resumed"] = s.pieces_resumed;
  j["bytes_written"] = s.bytes_written;
  if (!s.message.empty()) j["message"] = s.message;
  return j;
}

}  // namespace

std::string_view host_state_for(std::string_view phase) {
  if (phase == "failed" || phase == "installed") return phase;
  return "installing";
}

std::string install_status_json(const InstallStatus& status) { return status_object(status).dump(); }

std::string install_report_json(const InstallStatus& status) {
  nlohmann::json j = {{"state", host_state_for(status.agent.state)},
                      {"stage", "install"},
                      {"progress", status.progress()},
                      {"agent", status_object(status)}};
  // The server keeps at most 1024 bytes of message (api_json.cpp); ours are one line.
  if (!status.message.empty()) j["message"] = status.message.substr(0, 1024);
  return j.dump();
}

}  // namespace swarmboot::agent
