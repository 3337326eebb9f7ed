// Request bodies of the REST API, parsed and validated as pure functions (fuzzed): a bad body yields one
// Error naming the field, and nothing is changed. Unknown fields are refused so that typos are not ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/host_state.hpp"
#include "core/validation.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

// PUT /api/v1/hosts/{mac}: {"hostname": "web01", "image": "debian", "mode": "diskless",
// "labels": {"rack": "r1"},
// "disk": "/dev/vda"}; every field optional (absent = unchanged, or a default for a new host).
struct HostAssignment {
  std::optional<std::string> hostname;
  std::optional<std::string> image;
  std::optional<BootMode> mode;
  std::optional<Labels> labels;
  std::optional<std::string> disk;  // install target, see validate_install_disk
};
Result<HostAssignment> parse_host_assignment(std::string_view body);

// POST /api/v1/hosts/{mac}/events: {"state", "stage", "progress", "message", "agent"}; all optional.
struct HostEvent {
  std::optional<HostState> state;
  std::string stage;               // [a-z0-9_]{0,32}
  std::optional<double> progress;  // 0.0–1.0
  std::string message;             // ≤ 1024 bytes
  std::string agent_json;          // the agent status object, re-serialised (≤ 16 KiB); empty if absent
};
Result<HostEvent> parse_host_event(std::string_view body);

// POST /api/v1/images: {"path": "/abs/file.squashfs", "name": "debian", "piece_size": 1048576}.
struct ImageAddRequest {
  std::string path;
  std::string name;
  std::int64_t piece_size = 0;  // 0 = the default
};
Result<ImageAddRequest> parse_image_add(std::string_view body);

// {"error": "…"} for 4xx answers.
std::string json_error(std::string_view message);

}  // namespace swarmboot::server
