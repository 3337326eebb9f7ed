// Pure benchmark logic; see bench_core.hpp.
#include "bench_core.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace swarmboot::bench {

double kumar_ross_bound_s(std::int64_t size_bytes, double rate_mbit) {
  return static_cast<double>(size_bytes) * 8.0 / (rate_mbit * 1e6);
}

double central_bound_s(std::int64_t size_bytes, double rate_mbit, int n) {
  return kumar_ross_bound_s(size_bytes, rate_mbit) * n;
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of values at or below it.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto idx = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[idx];
}

Result<CpuSample> parse_proc_stat(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu ", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    std::vector<std::uint64_t> v;
    std::uint64_t x = 0;
    while (fields >> x) v.push_back(x);
    if (v.size() < 5) return Error{"could not parse /proc/stat: the cpu line has fewer than 5 fields"};
    v.resize(8, 0);
    // user nice system idle iowait irq softirq steal
    CpuSample s;
    s.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    s.total = s.busy + v[3] + v[4];
    return s;
  }
  return Error{"could not parse /proc/stat: no aggregate cpu line"};
}

std::optional<double> cpu_percent(const CpuSample& a, const CpuSample& b) {
  if (b.total <= a.total || b.busy < a.busy) return std::nullopt;
  return 100.0 * static_cast<double>(b.busy - a.busy) / static_cast<double>(b.total - a.total);
}

std::optional<CpuSummary> summarise_cpu(const std::vector<CpuSample>& samples) {
  if (samples.size() < 2) return std::nullopt;
  auto mean = cpu_percent(samples.front(), samples.back());
  if (!mean) return std::nullopt;
  CpuSummary s;
  s.mean_percent = *mean;
  for (size_t i = 1; i < samples.size(); ++i) {
    if (auto p = cpu_percent(samples[i - 1], samples[i])) s.peak_percent = std::max(s.peak_percent, *p);
  }
  s.saturated = s.mean_percent > kSaturatedPercent;
  return s;
}

std::vector<TraceRead> synthesize_boot_trace(std::int64_t image_size, std::uint64_t seed, double fraction,
                                             std::int64_t head_bytes) {
  constexpr std::int64_t kBlock = 128 * 1024;  // squashfs's default block size
  std::vector<TraceRead> out;
  if (image_size <= 0) return out;
  const std::int64_t head = std::min(head_bytes, image_size);
  // The head is read in 4 KiB steps, as the kernel probes the superblock and the first metadata.
  for (std::int64_t off = 0; off < head; off += 4096) out.push_back({off, std::min<std::int64_t>(4096, head - off)});
  const std::int64_t target = static_cast<std::int64_t>(fraction * static_cast<double>(image_size));
  const std::int64_t blocks = (image_size + kBlock - 1) / kBlock;
  std::set<std::int64_t> used;
  used.insert(0);  // the head's block
  std::int64_t total = head;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> start_dist(0, blocks - 1);
  // Run lengths in blocks: mostly short (a file or two), sometimes long (a library or the kernel modules).
  std::geometric_distribution<int> run_dist(0.3);
  int guard = 0;
  while (total < target && static_cast<std::int64_t>(used.size()) < blocks && guard++ < 1000000) {
    std::int64_t b = start_dist(rng);
    const int run = 1 + run_dist(rng);
    for (int i = 0; i < run && b < blocks && total < target; ++i, ++b) {
      if (!used.insert(b).second) continue;
      const std::int64_t off = b * kBlock;
      const std::int64_t len = std::min(kBlock, image_size - off);
      out.push_back({off, len});
      total += len;
    }
  }
  return out;
}

std::int64_t trace_bytes(const std::vector<TraceRead>& trace) {
  std::int64_t t = 0;
  for (const auto& r : trace) t += r.length;
  return t;
}

double trace_piece_fraction(const std::vector<TraceRead>& trace, std::int64_t image_size, std::int64_t piece_size) {
  if (image_size <= 0 || piece_size <= 0) return 0;
  std::set<std::int64_t> pieces;
  for (const auto& r : trace) {
    if (r.length <= 0) continue;
    for (std::int64_t p = r.offset / piece_size; p <= (r.offset + r.length - 1) / piece_size; ++p) pieces.insert(p);
  }
  const std::int64_t total = (image_size + piece_size - 1) / piece_size;
  return static_cast<double>(pieces.size()) / static_cast<double>(total);
}

std::string format_trace(const std::vector<TraceRead>& trace) {
  std::string s;
  for (const auto& r : trace) s += fmt::format("{} {}\n", r.offset, r.length);
  return s;
}

std::optional<double> parse_log_time(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  char z = 0;
  if (line.size() < 24 || std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon,
                                      &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z) != 8 ||
      z != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

std::vector<int> churn_hosts(int n) {
  std::vector<int> out;
  if (n < 2) return out;
  const int k = std::max(1, n / 4);
  // Every (n/k)-th host, starting from the second, so the first host (often the earliest peer) stays.
  for (int i = 0; i < k; ++i) out.push_back(2 + i * (n / k) > n ? n : 2 + i * (n / k));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

RunFigures figures(const RunResult& r) {
  RunFigures f;
  std::vector<double> done;
  for (const auto& h : r.host_seconds) {
    if (h) done.push_back(*h);
  }
  f.complete = static_cast<int>(done.size());
  f.bound_s = kumar_ross_bound_s(r.size_bytes, r.rate_mbit);
  if (f.complete == r.n && r.n > 0) {
    f.all_complete_s = *std::max_element(done.begin(), done.end());
    f.ratio_to_bound = *f.all_complete_s / f.bound_s;
  }
  f.p50_s = percentile(done, 50);
  f.p99_s = percentile(done, 99);
  if (r.size_bytes > 0) f.server_bytes_over_f = static_cast<double>(r.server_tx_bytes) / static_cast<double>(r.size_bytes);
  return f;
}

nlohmann::json to_json(const RunResult& r) {
  nlohmann::json j;
  j["system"] = r.system;
  j["scenario"] = r.scenario;
  j["n"] = r.n;
  j["size_bytes"] = r.size_bytes;
  j["piece_size"] = r.piece_size;
  j["rate_mbit"] = r.rate_mbit;
  j["host_seconds"] = nlohmann::json::array();
  for (const auto& h : r.host_seconds) j["host_seconds"].push_back(h ? nlohmann::json(*h) : nlohmann::json());
  j["verified"] = r.verified;
  j["server_tx_bytes"] = r.server_tx_bytes;
  if (r.cpu) {
    j["cpu"] = {{"mean_percent", r.cpu->mean_percent},
                {"peak_percent", r.cpu->peak_percent},
                {"saturated", r.cpu->saturated}};
  }
  j["note"] = r.note;
  j["started_utc"] = r.started_utc;
  const auto f = figures(r);
  j["derived"] = {{"complete", f.complete},
                  {"bound_s", f.bound_s},
                  {"all_complete_s", f.all_complete_s ? nlohmann::json(*f.all_complete_s) : nlohmann::json()},
                  {"ratio_to_bound", f.ratio_to_bound ? nlohmann::json(*f.ratio_to_bound) : nlohmann::json()},
                  {"p50_s", f.p50_s ? nlohmann::json(*f.p50_s) : nlohmann::json()},
                  {"p99_s", f.p99_s ? nlohmann::json(*f.p99_s) : nlohmann::json()},
                  {"server_bytes_over_f", f.server_bytes_over_f}};
  return j;
}

Result<RunResult> from_json(const nlohmann::json& j) {
  try {
    RunResult r;
    r.system = j.at("system").get<std::string>();
    r.scenario = j.at("scenario").get<std::string>();
    r.n = j.at("n").get<int>();
    r.size_bytes = j.at("size_bytes").get<std::int64_t>();
    r.piece_size = j.value("piece_size", std::int64_t{0});
    r.rate_mbit = j.at("rate_mbit").get<double>();
    for (const auto& h : j.at("host_seconds")) {
      r.host_seconds.push_back(h.is_null() ? std::nullopt : std::optional<double>(h.get<double>()));
    }
    r.verified = j.at("verified").get<int>();
    r.server_tx_bytes = j.at("server_tx_bytes").get<std::int64_t>();
    if (j.contains("cpu")) {
      CpuSummary c;
      c.mean_percent = j["cpu"].at("mean_percent").get<double>();
      c.peak_percent = j["cpu"].at("peak_percent").get<double>();
      c.saturated = j["cpu"].at("saturated").get<bool>();
      r.cpu = c;
    }
    r.note = j.value("note", std::string());
    r.started_utc = j.value("started_utc", std::string());
    return r;
  } catch (const std::exception& e) {
    return Error{std::string("could not read a result: ") + e.what()};
  }
}

namespace {

std::string opt_s(const std::optional<double>& v) { return v ? fmt::format("{:.1f}", *v) : "–"; }

std::string mib(std::int64_t bytes) {
  if (bytes % (1 << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

std::string markdown_table(const std::vector<RunResult>& runs) {
  std::string s =
      "| system | scenario | N | size | rate Mbit/s | all complete s | × bound F/R | p50 s | p99 s | done/verified | "
      "server bytes ÷ F | CPU mean/peak % | note |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    const auto f = figures(r);
    std::string cpu = r.cpu ? fmt::format("{:.0f}/{:.0f}{}", r.cpu->mean_percent, r.cpu->peak_percent,
                                          r.cpu->saturated ? " **SATURATED**" : "")
                            : "–";
    std::string all = f.all_complete_s ? fmt::format("{:.1f}", *f.all_complete_s)
                                       : fmt::format("incomplete ({}/{})", f.complete, r.n);
    std::string ratio = f.ratio_to_bound ? fmt::format("{:.2f}× (bound {:.1f} s)", *f.ratio_to_bound, f.bound_s)
                                         : fmt::format("– (bound {:.1f} s)", f.bound_s);
    s += fmt::format("| {} | {} | {} | {} | {:g} | {} | {} | {} | {} | {}/{} | {:.2f} | {} | {} |\n", r.system,
                     r.scenario, r.n, mib(r.size_bytes), r.rate_mbit, all, ratio, opt_s(f.p50_s), opt_s(f.p99_s),
                     f.complete, r.verified, f.server_bytes_over_f, cpu, r.note);
  }
  return s;
}

namespace {

// The target bullets for the runs of `system`.
std::string targets_of(const std::vector<RunResult>& runs, const std::string& system) {
  std::string s;
  const RunResult* largest_full = nullptr;
  std::map<int, const RunResult*> lazy, then_read;
  for (const auto& r : runs) {
    if (r.system != system) continue;
    if (r.scenario == "full" && (!largest_full || r.n >= largest_full->n)) largest_full = &r;
    if (r.scenario == "lazy") lazy[r.n] = &r;
    if (r.scenario == "full-then-read") then_read[r.n] = &r;
  }
  if (largest_full) {
    const auto f = figures(*largest_full);
    const double limit = 1.3 * f.bound_s + 2;
    if (f.all_complete_s) {
      s += fmt::format("- All hosts complete within 1.3 × bound + 2 s at N = {}: limit {:.1f} s, measured {:.1f} s — "
                       "**{}** ({:+.0f}%){}\n",
                       largest_full->n, limit, *f.all_complete_s, *f.all_complete_s <= limit ? "met" : "missed",
                       100.0 * (*f.all_complete_s / limit - 1), largest_full->n < 32 ? " (the target is at N = 32)" : "");
    } else {
      s += fmt::format("- All hosts complete within 1.3 × bound + 2 s at N = {}: **missed** — only {} of {} finished\n",
                       largest_full->n, f.complete, largest_full->n);
    }
  }
  for (const auto& r : runs) {
    if (r.system != system || r.scenario != "full") continue;
    const auto f = figures(r);
    s += fmt::format("- Server bytes ≤ 1.5 × F at N = {}: measured {:.2f} × F — **{}**\n", r.n,
                     f.server_bytes_over_f, f.server_bytes_over_f <= 1.5 ? "met" : "missed");
  }
  const RunResult *lz = nullptr, *tr = nullptr;
  for (const auto& [n, r] : lazy) {
    if (then_read.count(n)) {
      lz = r;
      tr = then_read[n];
    }
  }
  if (lz && tr) {
    const auto a = figures(*lz), b = figures(*tr);
    if (a.all_complete_s && b.all_complete_s) {
      const double ratio = *a.all_complete_s / *b.all_complete_s;
      s += fmt::format("- Lazy boot ≤ 0.3 × \"download fully, then read\" at N = {}: {:.1f} s vs {:.1f} s = {:.2f}× — "
                       "**{}**{}\n",
                       lz->n, *a.all_complete_s, *b.all_complete_s, ratio, ratio <= 0.3 ? "met" : "missed",
                       lz->n < 32 ? " (the target is at N = 32)" : "");
    } else {
      s += fmt::format("- Lazy boot at N = {}: not every host finished (lazy {}/{}, full-then-read {}/{})\n",
                       lz->n, a.complete, lz->n, b.complete, tr->n);
    }
  } else if (system == "swarmboot") {
    s += "- Lazy boot: no N with both a lazy and a full-then-read swarmboot run.\n";
  }
  return s;
}

}  // namespace

std::string target_report(const std::vector<RunResult>& runs) {
  const bool any_full = std::any_of(runs.begin(), runs.end(), [](const RunResult& r) {
    return r.system == "swarmboot" && r.scenario == "full";
  });
  if (!any_full) return "- No swarmboot full-distribution run: no target could be checked.\n";
  // The targets are the shipped configuration's; swarmboot-plain is there to show what spread seeding buys.
  return targets_of(runs, "swarmboot");
}

std::string plot_data(const std::vector<RunResult>& runs, const std::vector<std::string>& systems) {
  // n -> system -> all-complete seconds (the last run wins if repeated)
  std::map<int, std::map<std::string, double>> by_n;
  std::map<int, double> bound;
  for (const auto& r : runs) {
    if (r.scenario != "full") continue;
    const auto f = figures(r);
    bound[r.n] = f.bound_s;
    if (f.all_complete_s) by_n[r.n][r.system] = *f.all_complete_s;
  }
  std::string s = "n bound";
  for (const auto& sys : systems) s += " " + sys;
  s += "\n";
  for (const auto& [n, b] : bound) {
    s += fmt::format("{} {:.3f}", n, b);
    for (const auto& sys : systems) {
      auto it = by_n[n].find(sys);
      s += it == by_n[n].end() ? " ?" : fmt::format(" {:.3f}", it->second);
    }
    s += "\n";
  }
  return s;
}

}  // namespace swarmboot::bench
