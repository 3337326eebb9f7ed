// The benchmark's pure logic: the Kumar–Ross bound, per-host statistics, CPU utilisation from /proc/stat
// samples, a synthetic boot read trace, who leaves in the churn scenario, and how results are rendered (JSON
// rows and the Markdown table in docs/benchmarks.md). No I/O here, so all of it is table-tested; the driver
// (bench_main.cpp) does the namespaces, processes and files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarmcore/boot_profile.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::bench {

// Kumar–Ross lower bound with every link (server's and hosts') at rate R: T_min = F / R, whatever N.
// Mbit means 10^6 bits, as tc reads "kbit"/"mbit".
double kumar_ross_bound_s(std::int64_t size_bytes, double rate_mbit);
// One server sending every host a full copy over its one link: N · F / R.
double central_bound_s(std::int64_t size_bytes, double rate_mbit, int n);

// Nearest-rank percentile (p in [0,100]) of values; nullopt when empty.
std::optional<double> percentile(std::vector<double> values, double p);

// One line of /proc/stat's "cpu" row: jiffies per state.
struct CpuSample {
  std::uint64_t busy = 0;   // user+nice+system+irq+softirq+steal
  std::uint64_t total = 0;  // busy + idle + iowait
};
// Parses the aggregate "cpu " line of /proc/stat text.
Result<CpuSample> parse_proc_stat(const std::string& text);
// Utilisation in percent (0–100, all cores together) between two samples; nullopt if no time passed.
std::optional<double> cpu_percent(const CpuSample& a, const CpuSample& b);

struct CpuSummary {
  double mean_percent = 0;  // over the whole measured window
  double peak_percent = 0;  // the busiest sampling interval
  bool saturated = false;   // mean above kSaturatedPercent: the run measured the machine, not the protocol
};
constexpr double kSaturatedPercent = 90.0;
// Samples taken at regular intervals across the window (at least two for a result).
std::optional<CpuSummary> summarise_cpu(const std::vector<CpuSample>& samples);

// A read of a boot trace: offset and length in bytes.
using TraceRead = swarmboot::ByteRange;
// A synthetic boot read trace shaped like DESIGN.md's measured Debian boot: a small sequential head (the
// superblock and first directory blocks, `head_bytes`), then clustered runs of 128 KiB reads (squashfs blocks)
// at random places until `fraction` of the image has been read. Deterministic for a given seed. Reads never
// pass the end of the image and do not overlap.
std::vector<TraceRead> synthesize_boot_trace(std::int64_t image_size, std::uint64_t seed, double fraction = 0.11,
                                             std::int64_t head_bytes = 24 * 1024);
// Bytes a trace reads, and the fraction of pieces it touches with a given piece size.
std::int64_t trace_bytes(const std::vector<TraceRead>& trace);
double trace_piece_fraction(const std::vector<TraceRead>& trace, std::int64_t image_size, std::int64_t piece_size);
// "offset length" lines, the format the replay tool reads: a boot profile (swarmcore/boot_profile.hpp parses it).
std::string format_trace(const std::vector<TraceRead>& trace);

// The UNIX time of a swarmcore log line ("2026-11-26T22:14:23.241Z INFO  agent.swarm: …"); nullopt if the
// line does not start with such a timestamp.
std::optional<double> parse_log_time(const std::string& line);

// Churn: which hosts (1-based indices) leave and rejoin: a quarter of n (at least one when n ≥ 2), spread out.
std::vector<int> churn_hosts(int n);

// The outcome of one (system, scenario, N) run.
struct RunResult {
  std::string system;           // http, aria2, lt-default, lt-tuned, swarmboot
  std::string scenario;         // full, lazy, full-then-read, churn
  int n = 0;
  std::int64_t size_bytes = 0;
  std::int64_t piece_size = 0;
  double rate_mbit = 0;
  std::vector<std::optional<double>> host_seconds;  // per host, nullopt: did not finish in time
  int verified = 0;             // hosts whose copy (or every byte their trace read) matched the image
  std::int64_t server_tx_bytes = 0;
  std::optional<CpuSummary> cpu;
  std::string note;             // why it failed or was cut short; empty when it ran cleanly
  std::string started_utc;
};

// Derived figures for the table.
struct RunFigures {
  int complete = 0;
  std::optional<double> all_complete_s;  // only when every host finished
  std::optional<double> p50_s, p99_s;    // over hosts that finished
  double bound_s = 0;
  std::optional<double> ratio_to_bound;  // all_complete / bound
  double server_bytes_over_f = 0;
};
RunFigures figures(const RunResult& r);

nlohmann::json to_json(const RunResult& r);
Result<RunResult> from_json(const nlohmann::json& j);

// swarmboot as shipped ("swarmboot": spread seeding) and with the server's plain seeding ("swarmboot-plain"):
// the same appliance and agents, two server configurations.
inline bool is_swarmboot(const std::string& system) {
  return system == "swarmboot" || system == "swarmboot-plain";
}

// The Markdown results table (one row per run, in the order given).
std::string markdown_table(const std::vector<RunResult>& runs);
// Issue 7's targets checked against the shipped swarmboot's runs, one Markdown bullet each, with the margin:
// all hosts within 1.3 × bound + 2 s (full, at the largest N run); server bytes
// ≤ 1.5 × F (every full run); lazy boot ≤ 0.3 × "download fully, then read" (at the largest N with both).
std::string target_report(const std::vector<RunResult>& runs);
// Whitespace-separated data for gnuplot: "n bound system_all_complete…" rows for scenario `full`.
std::string plot_data(const std::vector<RunResult>& runs, const std::vector<std::string>& systems);

}  // namespace swarmboot::bench
