// What the admin CLI prints, as pure functions of the API's JSON: host and image tables, the live status
// table with a progress bar per host, event lines. Kept apart from the HTTP calls so they are unit-tested.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace swarmboot::cli {

// "[#######.............]  35%" for 0.0–1.0 (clamped), `width` characters inside the brackets.
std::string progress_bar(double fraction, int width = 20);

std::string hosts_table(const nlohmann::json& hosts);
std::string images_table(const nlohmann::json& images);
// Status: a summary line (hosts per state) and one row per host with its progress bar and, once known, the
// percent fetched at switch_root / booted. `now_ms` turns last-seen into an age.
std::string status_table(const nlohmann::json& hosts, std::int64_t now_ms);
std::string event_line(const nlohmann::json& event);

}  // namespace swarmboot::cli
