// A host as the server remembers it, and how a report from its agent changes it — a pure function, so that
// the rules (state table, progress, the "percent fetched at switch_root / booted" marks) are table-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/api_json.hpp"
#include "core/host_state.hpp"
#include "core/validation.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

struct HostRecord {
  std::string mac;
  std::string hostname;
  Labels labels;
  std::string image;
  BootMode mode = BootMode::diskless;
  std::string disk;     // install target: "" or "auto" = the agent picks, else a /dev path
  HostState state = HostState::fresh;
  std::string reason;   // why it failed (state failed), else empty
  double progress = 0;  // fraction of the image's pieces the host has
  std::string token;    // per-host secret for its reports
  std::string ip;       // address it last spoke from
  std::int64_t last_seen_ms = 0;
  std::int64_t created_ms = 0;
  std::optional<double> progress_at_switch_root;  // progress when it reported stage switch_root
  std::optional<double> progress_at_booted;       // progress when it reported stage booted
};

// Applies a report: progress, stage marks, and the state when the transition table allows it. A refused
// transition is an Error and leaves `host` unchanged (the caller answers 409).
//
// Stage "switch_root" / "booted" record the host's progress at that moment (the report's own progress when it
// carries one). Entering booting or installing starts a new boot, so the previous marks are cleared.
Status apply_host_report(HostRecord& host, const HostEvent& report);

// What an administrator's reimage does: back to new, progress and marks cleared, reason cleared.
void reimage_host(HostRecord& host);

}  // namespace swarmboot::server
