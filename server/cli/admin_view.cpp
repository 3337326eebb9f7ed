// Text rendering for the admin CLI; see admin_view.hpp.
#include "cli/admin_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace swarmboot::cli {
using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double num(const json& j, const char* key, double fallback = 0) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string labels(const json& j) {
  std::string out;
  const auto it = j.find("labels");
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items())
    out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : "");
  return out;
}

std::string percent_or_dash(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  return fmt::format("{:.1f}%", it->get<double>() * 100);
}

std::string age(std::int64_t now_ms, std::int64_t then_ms) {
  if (then_ms <= 0) return "never";
  const std::int64_t s = std::max<std::int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return fmt::format("{}s ago", s);
  if (s < 7200) return fmt::format("{}m ago", s / 60);
  return fmt::format("{}h ago", s / 3600);
}

}  // namespace

std::string progress_bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * width + 1e-9);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "] " +
         fmt::format("{:3d}%", static_cast<int>(fraction * 100 + 1e-9));
}

std::string hosts_table(const json& hosts) {
  std::string out = fmt::format("{:<17}  {:<16}  {:<16}  {:<10}  {:<10}  {:>6}  {}\n", "MAC", "HOSTNAME",
                                "IMAGE", "MODE", "STATE", "PROG", "LABELS");
  for (const auto& h : hosts) {
    out += fmt::format("{:<17}  {:<16}  {:<16}  {:<10}  {:<10}  {:>5.1f}%  {}\n", str(h, "mac"),
                       str(h, "hostname"), str(h, "image"), str(h, "mode"), str(h, "state"),
                       num(h, "progress") * 100, labels(h));
    if (str(h, "state") == "failed" && !str(h, "reason").empty())
      out += "    reason: " + str(h, "reason") + "\n";
  }
  return out;
}

std::string images_table(const json& images) {
  std::string out = fmt::format("{:<20}  {:<40}  {:>12}  {:>8}  {:<8}  {}\n", "NAME", "INFO-HASH", "SIZE",
                                "PIECE", "FORMAT", "PATH");
  for (const auto& i : images) {
    out += fmt::format("{:<20}  {:<40}  {:>12}  {:>8}  {:<8}  {}\n", str(i, "name"), str(i, "info_hash"),
                       static_cast<std::int64_t>(num(i, "size")),
                       static_cast<std::int64_t>(num(i, "piece_size")), str(i, "format"), str(i, "path"));
  }
  return out;
}

std::string status_table(const json& hosts, std::int64_t now_ms) {
  std::map<std::string, int> by_state;
  for (const auto& h : hosts) by_state[str(h, "state")] += 1;
  std::string summary = fmt::format("{} hosts:", hosts.size());
  for (const char* s : {"new", "booting", "running", "installing", "installed", "failed"}) {
    if (by_state[s] > 0) summary += fmt::format(" {} {}", by_state[s], s);
  }
  std::string out = summary + "\n";
  out += fmt::format("{:<17}  {:<14}  {:<10}  {:<27}  {:>8}  {:>8}  {}\n", "MAC", "HOSTNAME", "STATE",
                     "PROGRESS", "@SWITCH", "@BOOTED", "SEEN");
  for (const auto& h : hosts) {
    out +=
        fmt::format("{:<17}  {:<14}  {:<10}  {:<27}  {:>8}  {:>8}  {}\n", str(h, "mac"), str(h, "hostname"),
                    str(h, "state"), progress_bar(num(h, "progress")),
                    percent_or_dash(h, "progress_at_switch_root"), percent_or_dash(h, "progress_at_booted"),
                    age(now_ms, static_cast<std::int64_t>(num(h, "last_seen"))));
  }
  return out;
}

std::string event_line(const json& e) {
  const auto ms = static_cast<std::int64_t>(num(e, "time"));
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line =
      fmt::format("{}.{:03d}Z  #{:<6} {}  {:<8} {:<10}", when, static_cast<int>(ms % 1000),
                  static_cast<std::int64_t>(num(e, "id")), str(e, "mac"), str(e, "kind"), str(e, "state"));
  if (!str(e, "stage").empty()) line += " stage=" + str(e, "stage");
  if (e.contains("progress") && e["progress"].is_number())
    line += fmt::format(" progress={:.1f}%", num(e, "progress") * 100);
  if (!str(e, "message").empty()) line += "  " + str(e, "message");
  return line;
}

}  // namespace swarmboot::cli
