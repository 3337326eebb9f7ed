// swarmboot-bench: the benchmark driver. For every (system, scenario, N) it builds a fresh netns test bed (a
// server and N hosts, every link shaped to the same rate in both directions), starts the system's server side,
// starts N clients at once, waits (bounded) until every host holds the verified image or finished its boot
// trace, samples CPU utilisation throughout, reads the bytes the server's link sent from its veth counters,
// verifies every copy's SHA-256, tears everything down and appends one JSON result. At the end it writes the
// Markdown table and gnuplot data (and, with --doc, the generated section of docs/benchmarks.md).
//
// Systems: http (busybox httpd + curl), aria2 (aria2c + opentracker), lt-default / lt-tuned
// (swarmboot-bench-peer + opentracker), swarmboot (swarmbootd + swarmboot-agent), btfs (lazy scenario only).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include "bench_core.hpp"
#include "swarmcore/boot_profile.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/process.hpp"
#include "testbed.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;
using namespace std::chrono_literals;
using swarmboot::Error;
using swarmboot::Result;
using swarmboot::Status;
using swarmboot::bench::is_swarmboot;
using swarmboot::bench::RunResult;

namespace {

// Set by SIGINT/SIGTERM; every wait loop checks it so that the test bed's destructor tears everything down.
volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

constexpr const char* kServerIp = "10.99.0.1";
constexpr int kHttpPort = 8000;
constexpr int kTrackerPort = 6969;
constexpr int kBtPort = 6881;
constexpr int kSwarmbootPort = 8080;
const std::string kImageName = "benchimg";

struct Options {
  std::vector<std::string> systems;
  std::vector<std::string> scenarios;
  std::vector<int> ns;
  std::vector<int> read_ns;   // N for lazy and full-then-read
  std::vector<int> churn_ns;  // N for churn
  std::vector<std::string> churn_systems;  // systems for churn
  std::vector<std::string> read_systems;   // systems for lazy and full-then-read
  int size_mib = 32;
  int piece_kib = 64;
  double rate_mbit = 8;
  int mtu = 9000;
  std::vector<int> http_ns;  // N for central HTTP's full distribution (its time is N·F/R by construction)
  double timeout_factor = 12;
  std::string work_dir;
  std::string out_dir;
  std::string doc;
  std::string command_line;
  std::string bin_dir;
  std::string tag = "bn";
  std::string include_results;  // an earlier results.json whose runs are reported with this run's  // test bed namespaces are "sb<tag>-…"; concurrent drivers need different tags  // where swarmbootd / swarmboot-agent / swarmboot live (empty: next to this binary, PATH)
};

std::string utc_now();

struct Context {
  Context(Options o, swarmboot::Logger l) : opt(std::move(o)), log(std::move(l)) {}
  Options opt;
  swarmboot::Logger log;
  fs::path self_dir;
  fs::path image, torrent, trace;
  fs::path profile;  // the boot profile recorded by record_profile; empty: none (swarmboot agents get it)
  double profile_fraction = 0;  // of the pieces it names
  fs::path torrent_with_tracker;  // the same info dict plus "announce" (btfs takes trackers only from there)
  std::string info_hash, image_sha256;
  std::int64_t size = 0;
  std::vector<RunResult> results;
  std::string started_utc = utc_now();
};

std::string utc_now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc | std::ios::binary);
  out << text;
  if (!out) return Error{"could not write " + p.string()};
  return {};
}

std::string host_name(int i) { return "h" + std::to_string(i); }
std::string host_ip(int i) { return "10.99." + std::to_string(1 + (i - 1) / 250) + "." + std::to_string(1 + (i - 1) % 250); }

// A binary of ours: next to this driver, in --bin-dir, or in the build tree's component folders.
std::optional<fs::path> find_binary(const Context& ctx, const std::string& name) {
  std::vector<fs::path> candidates;
  if (!ctx.opt.bin_dir.empty()) candidates.push_back(fs::path(ctx.opt.bin_dir) / name);
  candidates.push_back(ctx.self_dir / name);
  const fs::path build = ctx.self_dir.parent_path();
  for (const char* sub : {"server", "fuse-agent", "images", "bench"}) candidates.push_back(build / sub / name);
  for (const auto& c : candidates) {
    if (fs::exists(c) && access(c.c_str(), X_OK) == 0) return c;
  }
  return std::nullopt;
}

// --- the image, its torrent and the trace ------------------------------------------------------------------

Status prepare_inputs(Context& ctx) {
  fs::create_directories(ctx.opt.work_dir);
  ctx.size = static_cast<std::int64_t>(ctx.opt.size_mib) << 20;
  ctx.image = fs::path(ctx.opt.work_dir) / "image" / kImageName;
  fs::create_directories(ctx.image.parent_path());
  {
    // Random bytes (incompressible, so no transport can cheat) from a fixed seed; the first four bytes are
    // squashfs's magic so that swarmboot's image registry accepts the file.
    std::ofstream out(ctx.image, std::ios::binary | std::ios::trunc);
    std::mt19937_64 rng(0x5eedb007);
    std::vector<std::uint64_t> buf(1 << 17);
    for (std::int64_t written = 0; written < ctx.size;) {
      for (auto& w : buf) w = rng();
      if (written == 0) std::memcpy(buf.data(), "hsqs", 4);
      const auto chunk = std::min<std::int64_t>(static_cast<std::int64_t>(buf.size() * 8), ctx.size - written);
      out.write(reinterpret_cast<const char*>(buf.data()), chunk);
      written += chunk;
    }
    if (!out) return Error{"could not write the image " + ctx.image.string()};
  }
  auto t = swarmboot::create_image_torrent(ctx.image, kImageName, static_cast<std::int64_t>(ctx.opt.piece_kib) * 1024);
  if (!t) return swarmboot::wrap("could not make the image torrent", t.error());
  ctx.info_hash = t->info_hash;
  ctx.torrent = fs::path(ctx.opt.work_dir) / "image" / (kImageName + ".torrent");
  if (auto s = write_text(ctx.torrent, std::string(t->bytes.begin(), t->bytes.end())); !s) return s;
  {
    // Keys outside the info dict do not change the info-hash; check that anyway.
    lt::entry e(lt::bdecode(lt::span<const char>(t->bytes.data(), static_cast<std::ptrdiff_t>(t->bytes.size()))));
    e["announce"] = fmt::format("http://{}:{}/announce", kServerIp, kTrackerPort);
    std::vector<char> out;
    lt::bencode(std::back_inserter(out), e);
    auto parsed = swarmboot::parse_image_torrent(std::string_view(out.data(), out.size()));
    if (!parsed || parsed->info_hash != t->info_hash) return Error{"could not add a tracker to the torrent"};
    ctx.torrent_with_tracker = fs::path(ctx.opt.work_dir) / "image" / (kImageName + "-tracker.torrent");
    if (auto s = write_text(ctx.torrent_with_tracker, std::string(out.begin(), out.end())); !s) return s;
  }
  auto sum = swarmboot::run_checked({"sha256sum", ctx.image.string()});
  if (!sum) return swarmboot::wrap("could not hash the image", sum.error());
  ctx.image_sha256 = sum->substr(0, 64);
  const auto trace = swarmboot::bench::synthesize_boot_trace(ctx.size, 42);
  ctx.trace = fs::path(ctx.opt.work_dir) / "image" / "boot.trace";
  return write_text(ctx.trace, swarmboot::bench::format_trace(trace));
}

// --- measurements ------------------------------------------------------------------------------------------

// Bytes sent by the server's end of its link (its eth0 inside its namespace), from the kernel's counters.
Result<std::int64_t> server_tx_bytes(swarmboot::testbed::TestBed& bed) {
  auto r = bed.run("srv", {"cat", "/sys/class/net/eth0/statistics/tx_bytes"}, 5s);
  if (!r || r->exit_code != 0) return Error{"could not read the server's tx counter"};
  try {
    return static_cast<std::int64_t>(std::stoll(r->output));
  } catch (...) {
    return Error{"could not read the server's tx counter: '" + r->output + "'"};
  }
}

// Samples /proc/stat every 500 ms on its own thread until destroyed.
class CpuSampler {
 public:
  CpuSampler() : thread_([this] { loop(); }) {}
  ~CpuSampler() { finish(); }
  std::vector<swarmboot::bench::CpuSample> finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    take();
    std::lock_guard lock(mutex_);
    return samples_;
  }

 private:
  void take() {
    auto s = swarmboot::bench::parse_proc_stat(read_text("/proc/stat"));
    if (!s) return;
    std::lock_guard lock(mutex_);
    samples_.push_back(*s);
  }
  void loop() {
    while (!stop_) {
      take();
      for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(100ms);
    }
  }
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<swarmboot::bench::CpuSample> samples_;
  std::thread thread_;
};

// "UNIX_TIME [verdict]" written by a client when it finished.
struct Done {
  double at = 0;
  std::string verdict;  // empty for downloads; ok|mismatch|error for trace replays
};
std::optional<Done> read_done(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  std::istringstream in(read_text(p));
  Done d;
  if (!(in >> d.at)) return std::nullopt;
  in >> d.verdict;
  return d;
}

// Whether the tracker (opentracker or swarmbootd) lists at least one complete peer for the image.
bool tracker_has_seed(swarmboot::testbed::TestBed& bed, const Context& ctx, int port) {
  std::string q;
  for (size_t i = 0; i + 1 < ctx.info_hash.size(); i += 2) q += "%" + ctx.info_hash.substr(i, 2);
  auto r = bed.run("srv", {"curl", "-s", "-m", "2",
                           fmt::format("http://{}:{}/scrape?info_hash={}", kServerIp, port, q)}, 5s);
  if (!r || r->exit_code != 0) return false;
  const auto pos = r->output.find("8:completei");
  if (pos == std::string::npos) return false;
  return std::atoi(r->output.c_str() + pos + 11) >= 1;
}

// Whether the tracker answers a scrape for the image (it is registered there).
bool tracker_knows(swarmboot::testbed::TestBed& bed, const Context& ctx, int port) {
  std::string q;
  for (size_t i = 0; i + 1 < ctx.info_hash.size(); i += 2) q += "%" + ctx.info_hash.substr(i, 2);
  auto r = bed.run("srv", {"curl", "-sf", "-m", "2",
                           fmt::format("http://{}:{}/scrape?info_hash={}", kServerIp, port, q)}, 5s);
  return r && r->exit_code == 0 && r->output.find("8:completei") != std::string::npos;
}

bool http_ready(swarmboot::testbed::TestBed& bed, const std::string& url) {
  auto r = bed.run("srv", {"curl", "-sf", "-o", "/dev/null", "-m", "2", url}, 5s);
  return r && r->exit_code == 0;
}

// When swarmboot-agent logged "image complete" last (libtorrent's torrent_finished_alert, the event the
// libtorrent baselines report too), from its "2026-11-26T22:14:23.241Z INFO  agent.swarm: …" log line. The
// status file the run is polled on is only rewritten about once a second; this is exact to the millisecond.
std::optional<double> agent_complete_time(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find("image complete") != std::string::npos) last = line;
  }
  return swarmboot::bench::parse_log_time(last);
}

// --- systems -----------------------------------------------------------------------------------------------

struct Layout {
  fs::path dir;  // this run's folder
  fs::path srv() const { return dir / "srv"; }
  fs::path host(int i) const { return dir / host_name(i); }
  fs::path done(int i) const { return host(i) / "done"; }
  fs::path log(const std::string& name) const { return dir / (name + ".log"); }
  // Written when the timed part of a run is over: swarmboot hosts hash their mount only then, so that no
  // host's verification takes CPU from the hosts still downloading (the other systems are hashed after the
  // run as well).
  fs::path verify_now() const { return dir / "verify-now"; }
};

std::string tracker_url(int port) { return fmt::format("http://{}:{}/announce", kServerIp, port); }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
std::string shell_join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
  return s;
}

// Starts the server side of `system`; returns an error if it is not ready in time.
Status start_server(Context& ctx, swarmboot::testbed::TestBed& bed, const std::string& system, const Layout& L) {
  auto spawn = [&](const std::vector<std::string>& argv, const std::string& log) -> Status {
    auto pid = bed.spawn("srv", argv, L.log(log).string());
    if (!pid) return pid.error();
    return {};
  };
  auto wait_ready = [&](auto pred, const std::string& what) -> Status {
    if (!swarmboot::testbed::wait_until([&] { return g_interrupted || pred(); }, 30s, 200ms) || g_interrupted) {
      return Error{"could not start " + what + ": not ready within 30 s (see " + L.dir.string() + ")"};
    }
    return {};
  };
  if (system == "http") {
    if (auto s = spawn({"busybox", "httpd", "-f", "-p", fmt::format("{}:{}", kServerIp, kHttpPort), "-h",
                        L.srv().string()},
                       "httpd");
        !s)
      return s;
    return wait_ready([&] { return http_ready(bed, fmt::format("http://{}:{}/{}", kServerIp, kHttpPort, kImageName)); },
                      "busybox httpd");
  }
  if (system == "aria2" || system == "lt-default" || system == "lt-tuned" || system == "btfs") {
    // Debian's opentracker only serves whitelisted info-hashes; it chroots to -d, so -w is inside it.
    const fs::path tracker_dir = L.dir / "opentracker";
    fs::create_directories(tracker_dir);
    if (auto s = write_text(tracker_dir / "whitelist", ctx.info_hash + "\n"); !s) return s;
    if (auto s = spawn({"opentracker", "-i", kServerIp, "-p", std::to_string(kTrackerPort), "-P",
                        std::to_string(kTrackerPort), "-d", tracker_dir.string(), "-w", "/whitelist"},
                       "opentracker");
        !s)
      return s;
    std::vector<std::string> seeder;
    if (system == "aria2") {
      seeder = {"aria2c", "--console-log-level=warn", "--summary-interval=0", "--seed-ratio=0.0",
                "--bt-seed-unverified=true", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--disable-ipv6=true", fmt::format("--listen-port={}", kBtPort),
                "--bt-tracker=" + tracker_url(kTrackerPort), "-d", L.srv().string(), ctx.torrent.string()};
    } else {
      auto peer = find_binary(ctx, "swarmboot-bench-peer");
      if (!peer) return Error{"could not find swarmboot-bench-peer next to the driver"};
      seeder = {peer->string(), "--torrent", ctx.torrent.string(), "--save-dir", L.srv().string(), "--listen",
                fmt::format("{}:{}", kServerIp, kBtPort), "--tuning", system == "lt-tuned" ? "tuned" : "default",
                "--tracker", tracker_url(kTrackerPort), "--seed"};  // btfs: a plain libtorrent seeder
    }
    if (auto s = spawn(seeder, "seeder"); !s) return s;
    return wait_ready([&] { return tracker_has_seed(bed, ctx, kTrackerPort); }, "the seeder and tracker");
  }
  if (is_swarmboot(system)) {
    auto daemon = find_binary(ctx, "swarmbootd");
    auto cli = find_binary(ctx, "swarmboot");
    if (!daemon || !cli) return Error{"could not find swarmbootd and swarmboot (the server has not landed yet?)"};
    const fs::path data = L.dir / "swarmbootd";
    fs::create_directories(data / "images");
    auto add = swarmboot::run_checked({cli->string(), "image", "add", (L.srv() / kImageName).string(), "--name",
                                       kImageName, "--registry", (data / "images").string(), "--piece-size",
                                       std::to_string(ctx.opt.piece_kib * 1024)});
    if (!add) return swarmboot::wrap("could not register the image with swarmboot", add.error());
    // swarmboot-plain: the same appliance with plain seeding, to show what spread seeding buys.
    if (auto s = spawn({daemon->string(), "--data-dir", data.string(), "--listen",
                        fmt::format("{}:{}", kServerIp, kSwarmbootPort), "--bt-listen",
                        fmt::format("{}:{}", kServerIp, kBtPort), "--dhcp-mode", "off", "--seeding",
                        system == "swarmboot-plain" ? "plain" : "spread"},
                       "swarmbootd");
        !s)
      return s;
    // swarmbootd's tracker offers its own seeder to every downloader instead of listing it as a peer, so
    // ready means: the tracker knows the image and the seeder listens.
    return wait_ready(
        [&] {
          auto listening = bed.run("srv", {"ss", "-Hltn", fmt::format("sport = :{}", kBtPort)}, 5s);
          return tracker_knows(bed, ctx, kSwarmbootPort) && listening && !listening->output.empty();
        },
        "swarmbootd");
  }
  return Error{"unknown system '" + system + "'"};
}

// The argv a host runs for `system` and `scenario`; its done file is L.done(i).
Result<std::vector<std::string>> client_argv(const Context& ctx, const std::string& system,
                                             const std::string& scenario, const Layout& L, int i) {
  const std::string file = (L.host(i) / kImageName).string();
  const std::string done = L.done(i).string();
  std::vector<std::string> download;
  // Downloads that finish by exiting (curl) or by a hook (aria2c) write their own done file.
  if (system == "http") {
    const std::string url = fmt::format("http://{}:{}/{}", kServerIp, kHttpPort, kImageName);
    download = {"sh", "-c",
                "curl -sf -o " + shell_quote(file) + " " + shell_quote(url) + " && date +%s.%N > " +
                    shell_quote(done + ".tmp") + " && mv " + shell_quote(done + ".tmp") + " " + shell_quote(done) +
                    "; sleep 100000"};
  } else if (system == "aria2") {
    const fs::path hook = L.dir / "aria2-done.sh";
    download = {"env", "BENCH_DONE=" + done, "aria2c", "--console-log-level=warn", "--summary-interval=0",
                "--seed-ratio=0.0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                "--disable-ipv6=true", "--file-allocation=none", fmt::format("--listen-port={}", kBtPort),
                "--bt-tracker=" + tracker_url(kTrackerPort), "--on-bt-download-complete=" + hook.string(), "-d",
                L.host(i).string(), ctx.torrent.string()};
  } else if (system == "lt-default" || system == "lt-tuned") {
    auto peer = find_binary(ctx, "swarmboot-bench-peer");
    if (!peer) return Error{"could not find swarmboot-bench-peer"};
    download = {peer->string(), "--torrent", ctx.torrent.string(), "--save-dir", L.host(i).string(), "--listen",
                fmt::format("{}:{}", host_ip(i), kBtPort), "--tuning", system == "lt-tuned" ? "tuned" : "default",
                "--tracker", tracker_url(kTrackerPort), "--done-file", done};
  } else if (system == "btfs") {
    auto replay = find_binary(ctx, "swarmboot-bench-replay");
    if (!replay) return Error{"could not find swarmboot-bench-replay"};
    return std::vector<std::string>{"bash", (fs::path(BENCH_SOURCE_DIR) / "btfs-host.sh").string(), replay->string(),
                                    L.host(i).string(), ctx.torrent_with_tracker.string(), kImageName,
                                    ctx.trace.string(), ctx.image.string(), done};
  } else if (is_swarmboot(system)) {
    // The agent's FUSE mount lives in the mount namespace `ip netns exec` makes, so the reads that verify
    // it must run in the same invocation: bench/agent-host.sh does both.
    auto agent = find_binary(ctx, "swarmboot-agent");
    if (!agent) return Error{"could not find swarmboot-agent (the agent has not landed yet?)"};
    const fs::path script = fs::path(BENCH_SOURCE_DIR) / "agent-host.sh";
    auto replay = find_binary(ctx, "swarmboot-bench-replay");
    if (!replay) return Error{"could not find swarmboot-bench-replay"};
    return std::vector<std::string>{"bash", script.string(), agent->string(), replay->string(), scenario,
                                    L.host(i).string(), ctx.torrent.string(),
                                    fmt::format("http://{}:{}", kServerIp, kSwarmbootPort), kImageName,
                                    ctx.trace.string(), ctx.image.string(), done, ctx.profile.string()};
  } else {
    return Error{"unknown system '" + system + "'"};
  }
  if (scenario != "full-then-read") return download;
  // Download fully, then replay the boot trace from the local copy.
  auto replay = find_binary(ctx, "swarmboot-bench-replay");
  if (!replay) return Error{"could not find swarmboot-bench-replay"};
  const std::string dl_done = (L.host(i) / "download-done").string();
  // Point the download's done file elsewhere; the host is done when the replay is.
  for (auto& a : download) {
    if (a == done) a = dl_done;
    if (a == "BENCH_DONE=" + done) a = "BENCH_DONE=" + dl_done;
  }
  return std::vector<std::string>{
      "sh", "-c",
      shell_join(download) + " & " +
          shell_join({replay->string(), "--trace", ctx.trace.string(), "--file", file, "--reference",
                      ctx.image.string(), "--after", dl_done, "--done-file", done}) +
          "; wait"};
}

// The file whose SHA-256 shows that host i holds the image (for swarmboot: written by agent-host.sh after
// reading the mount, as "<sha256>").
fs::path digest_source(const std::string& system, const Layout& L, int i) {
  if (is_swarmboot(system)) return L.host(i) / "mount.sha256";
  return L.host(i) / kImageName;
}

// --- one run -----------------------------------------------------------------------------------------------

RunResult run_case(Context& ctx, const std::string& system, const std::string& scenario, int n) {
  RunResult r;
  r.system = system;
  r.scenario = scenario;
  r.n = n;
  r.size_bytes = ctx.size;
  r.piece_size = static_cast<std::int64_t>(ctx.opt.piece_kib) * 1024;
  r.rate_mbit = ctx.opt.rate_mbit;
  r.started_utc = utc_now();
  r.host_seconds.assign(static_cast<size_t>(n), std::nullopt);
  const auto log = ctx.log.child(fmt::format("{}.{}.n{}", system, scenario, n));

  Layout L{fs::path(ctx.opt.work_dir) / fmt::format("run-{}-{}-n{}", system, scenario, n)};
  std::error_code ec;
  fs::remove_all(L.dir, ec);
  fs::create_directories(L.srv());
  fs::copy_file(ctx.image, L.srv() / kImageName);
  for (int i = 1; i <= n; ++i) fs::create_directories(L.host(i));
  if (system == "aria2") {
    (void)write_text(L.dir / "aria2-done.sh",
                     "#!/bin/sh\n# aria2c calls this when the download is complete; it keeps seeding.\n"
                     "date +%s.%N > \"$BENCH_DONE.tmp\" && mv \"$BENCH_DONE.tmp\" \"$BENCH_DONE\"\n");
    fs::permissions(L.dir / "aria2-done.sh", fs::perms::owner_all);
  }

  auto bed_r = swarmboot::testbed::TestBed::create(ctx.opt.tag);
  if (!bed_r) {
    r.note = bed_r.error().message;
    return r;
  }
  auto& bed = **bed_r;
  if (auto s = bed.add_host({"srv", std::string(kServerIp) + "/16", ctx.opt.rate_mbit, ctx.opt.mtu}); !s) {
    r.note = s.error().message;
    return r;
  }
  for (int i = 1; i <= n && !g_interrupted; ++i) {
    if (auto s = bed.add_host({host_name(i), host_ip(i) + "/16", ctx.opt.rate_mbit, ctx.opt.mtu}); !s) {
      r.note = s.error().message;
      return r;
    }
  }
  // 33 namespaces in a full mesh already need more dynamic ARP entries than the machine-wide cap: one N = 32
  // run without this logged 98 overflows (docs/benchmarks.md, "Reading the default run (2026-11-28, 04:37").
  if (auto s = bed.pin_neighbours(); !s) {
    r.note = s.error().message;
    return r;
  }
  if (auto s = start_server(ctx, bed, system, L); !s) {
    r.note = s.error().message;
    log.warn("{}", r.note);
    return r;
  }
  auto tx0 = server_tx_bytes(bed);

  const double bound = swarmboot::bench::kumar_ross_bound_s(ctx.size, ctx.opt.rate_mbit);
  const double limit_s = system == "http" ? 1.3 * n * bound + 30 : ctx.opt.timeout_factor * bound + 30;
  std::vector<std::vector<std::string>> argvs;
  for (int i = 1; i <= n; ++i) {
    auto a = client_argv(ctx, system, scenario, L, i);
    if (!a) {
      r.note = a.error().message;
      return r;
    }
    argvs.push_back(*a);
  }

  CpuSampler cpu;
  const double t0 = unix_now();
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> pids(static_cast<size_t>(n) + 1, 0);
  for (int i = 1; i <= n; ++i) {
    auto pid = bed.spawn(host_name(i), argvs[static_cast<size_t>(i - 1)], L.log(host_name(i)).string());
    if (!pid) {
      r.note = pid.error().message;
      return r;
    }
    pids[static_cast<size_t>(i)] = *pid;
  }

  // Churn: a quarter of the hosts die (SIGKILL, like a power cut) halfway to the bound and come back later
  // with whatever they had on disk.
  const auto churners = scenario == "churn" ? swarmboot::bench::churn_hosts(n) : std::vector<int>{};
  const double leave_at = 0.5 * bound, rejoin_at = leave_at + std::max(3.0, 0.25 * bound);
  bool left = false, rejoined = false;
  int done_before_leaving = 0;

  std::vector<std::optional<Done>> done(static_cast<size_t>(n) + 1);
  int finished = 0;
  while (!g_interrupted) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!churners.empty() && !left && elapsed >= leave_at) {
      for (int i : churners) {
        if (read_done(L.done(i))) ++done_before_leaving;
        bed.stop(pids[static_cast<size_t>(i)], SIGKILL, 3s);
        fs::remove(L.done(i), ec);
        done[static_cast<size_t>(i)].reset();
      }
      left = true;
      log.info("churn: {} hosts left at {:.1f} s", churners.size(), elapsed);
    }
    if (left && !rejoined && elapsed >= rejoin_at) {
      for (int i : churners) {
        auto pid = bed.spawn(host_name(i), argvs[static_cast<size_t>(i - 1)], L.log(host_name(i)).string());
        if (pid) pids[static_cast<size_t>(i)] = *pid;
      }
      rejoined = true;
      log.info("churn: they rejoined at {:.1f} s", elapsed);
    }
    finished = 0;
    for (int i = 1; i <= n; ++i) {
      auto& d = done[static_cast<size_t>(i)];
      const bool away = left && !rejoined && std::find(churners.begin(), churners.end(), i) != churners.end();
      if (!d && !away) d = read_done(L.done(i));
      if (d) ++finished;
    }
    if (finished == n && (churners.empty() || rejoined)) break;
    if (elapsed > limit_s) {
      r.note = fmt::format("timed out after {:.0f} s", elapsed);
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  auto tx1 = server_tx_bytes(bed);
  r.cpu = swarmboot::bench::summarise_cpu(cpu.finish());
  if (auto s = write_text(L.verify_now(), "\n"); !s) log.warn("{}", s.error().message);
  if (g_interrupted) r.note = "interrupted";
  if (tx0 && tx1) r.server_tx_bytes = *tx1 - *tx0;
  if (!churners.empty()) {
    r.note += (r.note.empty() ? "" : "; ") +
              fmt::format("hosts {} left at {:.0f} s, rejoined at {:.0f} s ({} had finished before leaving)",
                          fmt::join(churners, ","), leave_at, rejoin_at, done_before_leaving);
  }
  for (int i = 1; i <= n; ++i) {
    const auto& d = done[static_cast<size_t>(i)];
    if (!d) continue;
    if (!d->verdict.empty() && d->verdict != "ok") {
      // Finished, but its reads failed (a crashed FUSE daemon, wrong bytes): not a completion.
      r.note += (r.note.empty() ? "" : "; ") + fmt::format("{}: trace replay {}", host_name(i), d->verdict);
      continue;
    }
    double at = d->at;
    if (is_swarmboot(system) && (scenario == "full" || scenario == "churn")) {
      if (auto exact = agent_complete_time(L.log(host_name(i))); exact && *exact <= at) at = *exact;
    }
    if (is_swarmboot(system) && scenario == "full-then-read") {
      // The replay started when the status file showed the image complete, up to ~1 s after the fact; the
      // baseline should not be charged for that reporting delay.
      auto exact = agent_complete_time(L.log(host_name(i)));
      auto seen = read_done(L.host(i) / "complete-seen");
      if (exact && seen && *exact <= seen->at) at -= seen->at - *exact;
    }
    r.host_seconds[static_cast<size_t>(i - 1)] = at - t0;
  }

  // Verification: trace replays checked their bytes themselves; downloads are hashed here.
  if (scenario == "lazy" || scenario == "full-then-read" || scenario == "record") {
    for (int i = 1; i <= n; ++i) {
      const auto& d = done[static_cast<size_t>(i)];
      if (d && d->verdict == "ok") ++r.verified;
    }
  } else if (is_swarmboot(system)) {
    // agent-host.sh hashes the file through the mount after the agent reported the image complete.
    swarmboot::testbed::wait_until(
        [&] {
          for (int i = 1; i <= n; ++i) {
            if (done[static_cast<size_t>(i)] && !fs::exists(digest_source(system, L, i))) return false;
          }
          return true;
        },
        60s, 200ms);
    for (int i = 1; i <= n; ++i) {
      if (read_text(digest_source(system, L, i)).substr(0, 64) == ctx.image_sha256) ++r.verified;
    }
  } else {
    std::vector<std::string> argv = {"sha256sum"};
    for (int i = 1; i <= n; ++i) {
      if (done[static_cast<size_t>(i)]) argv.push_back(digest_source(system, L, i).string());
    }
    if (argv.size() > 1) {
      auto sums = swarmboot::run_process(argv);
      if (sums) {
        std::istringstream in(sums->output);
        std::string line;
        while (std::getline(in, line)) {
          if (line.substr(0, 64) == ctx.image_sha256) ++r.verified;
        }
      }
    }
  }
  log.info("{} of {} hosts finished, {} verified, server sent {:.2f}×F, CPU {:.0f}%", finished, n, r.verified,
           static_cast<double>(r.server_tx_bytes) / static_cast<double>(ctx.size), r.cpu ? r.cpu->mean_percent : -1.0);
  return r;  // the test bed's destructor kills every process and removes the namespaces
}

// After a run (its test bed is gone) only the logs are worth keeping: N copies of the image in tmpfs are not.
void prune_image_copies(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && it->file_size(ec) > (1u << 20) && it->path().extension() != ".log") {
      fs::remove(it->path(), ec);
    }
  }
}

// The boot profile the appliance would have: one host boots first (replays the trace through its mount)
// with --record-reads, and every swarmboot host of the later runs gets what it recorded. It is recorded, not
// derived from the trace, because the mount's readahead reads more than the trace asks for.
Status record_profile(Context& ctx) {
  ctx.log.info("recording the boot profile: one swarmboot host replays the boot trace");
  const RunResult r = run_case(ctx, "swarmboot", "record", 1);
  const fs::path dir = fs::path(ctx.opt.work_dir) / "run-swarmboot-record-n1";
  prune_image_copies(dir);
  const fs::path recorded = dir / host_name(1) / "boot.profile";
  if (r.verified != 1 || !fs::exists(recorded))
    return Error{fmt::format("could not record a boot profile ({})", r.note.empty() ? "no profile written" : r.note)};
  const fs::path profile = fs::path(ctx.opt.work_dir) / "image" / "boot.profile";
  std::error_code ec;
  fs::copy_file(recorded, profile, fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{"could not copy the boot profile: " + ec.message()};
  auto ranges = swarmboot::parse_boot_profile(read_text(profile), ctx.size);
  if (!ranges) return ranges.error();
  ctx.profile = profile;
  ctx.profile_fraction = swarmboot::bench::trace_piece_fraction(*ranges, ctx.size,
                                                                static_cast<std::int64_t>(ctx.opt.piece_kib) * 1024);
  ctx.log.info("boot profile: {} ranges, {:.0f}% of the pieces", ranges->size(), 100 * ctx.profile_fraction);
  return {};
}

// --- output ------------------------------------------------------------------------------------------------

Status write_outputs(const Context& ctx) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : ctx.results) all.push_back(swarmboot::bench::to_json(r));
  nlohmann::json doc = {{"command", ctx.opt.command_line},
                        {"mtu", ctx.opt.mtu},
                        {"image_sha256", ctx.image_sha256},
                        {"boot_profile_piece_fraction", ctx.profile.empty() ? nlohmann::json() : nlohmann::json(ctx.profile_fraction)},
                        {"info_hash", ctx.info_hash},
                        {"trace_bytes", swarmboot::bench::trace_bytes(*swarmboot::parse_boot_profile(read_text(ctx.trace), ctx.size))},
                        {"runs", all}};
  fs::create_directories(ctx.opt.out_dir);
  if (auto s = write_text(fs::path(ctx.opt.out_dir) / "results.json", doc.dump(2) + "\n"); !s) return s;
  if (auto s = write_text(fs::path(ctx.opt.out_dir) / "table.md", swarmboot::bench::markdown_table(ctx.results)); !s) return s;
  // Every system with a result, also those of --include-results, in order of first appearance.
  std::vector<std::string> plotted;
  for (const auto& r : ctx.results) {
    if (std::find(plotted.begin(), plotted.end(), r.system) == plotted.end()) plotted.push_back(r.system);
  }
  if (auto s = write_text(fs::path(ctx.opt.out_dir) / "plot.dat", swarmboot::bench::plot_data(ctx.results, plotted)); !s) {
    return s;
  }
  if (auto s = write_text(fs::path(ctx.opt.out_dir) / "targets.md", swarmboot::bench::target_report(ctx.results)); !s) {
    return s;
  }
  if (ctx.opt.doc.empty()) return {};
  // The generated part of the doc sits between two markers; the prose around it is written by hand.
  const std::string begin = "<!-- results:begin -->", end = "<!-- results:end -->";
  std::string text = read_text(ctx.opt.doc);
  const auto b = text.find(begin), e = text.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    return Error{"could not update " + ctx.opt.doc + ": it lacks the results markers"};
  }
  const auto trace = *swarmboot::parse_boot_profile(read_text(ctx.trace), ctx.size);
  std::string gen = fmt::format(
      "{}\nMeasured from {} to {}{} on this machine ({} cores) with:\n\n```\n{}\n```\n\nImage: {} MiB of random bytes, "
      "{} KiB pieces, every link {:g} Mbit/s both ways, MTU {}; Kumar–Ross bound F/R = {:.1f} s. Synthetic boot trace: "
      "{:.1f}% of the image read, touching {:.0f}% of the pieces. {}\n\n{}\nIssue 7's targets, checked "
      "automatically against these runs:\n\n{}\n",
      begin, ctx.started_utc, utc_now(),
      ctx.opt.include_results.empty() ? "" : " (the last command; the runs it includes ran earlier, by the first)",
      std::thread::hardware_concurrency(), ctx.opt.command_line, ctx.opt.size_mib,
      ctx.opt.piece_kib, ctx.opt.rate_mbit, ctx.opt.mtu, swarmboot::bench::kumar_ross_bound_s(ctx.size, ctx.opt.rate_mbit),
      100.0 * static_cast<double>(swarmboot::bench::trace_bytes(trace)) / static_cast<double>(ctx.size),
      100.0 * swarmboot::bench::trace_piece_fraction(trace, ctx.size, static_cast<std::int64_t>(ctx.opt.piece_kib) * 1024),
      ctx.profile.empty()
          ? std::string("No boot profile: swarmboot agents fetch pieces in libtorrent's order.")
          : fmt::format("Boot profile given to every swarmboot agent, recorded first by one host replaying the trace "
                        "through its mount: {:.0f}% of the pieces (the mount's readahead reads a little beyond the trace).",
                        100 * ctx.profile_fraction),
      swarmboot::bench::markdown_table(ctx.results), swarmboot::bench::target_report(ctx.results));
  text.replace(b, e - b, gen);
  return write_text(ctx.opt.doc, text);
}

int run(int argc, char** argv) {
  Options opt;
  std::string systems, scenarios, ns, read_ns, churn_ns, churn_systems, read_systems, http_ns;
  bool quick = false, no_profile = false;
  po::options_description desc("swarmboot-bench options");
  desc.add_options()("help,h", "this help")("quick", po::bool_switch(&quick),
                                            "smoke check: N ≤ 4, 8 MiB, 25 Mbit/s")(
      "systems", po::value(&systems)->default_value("http,aria2,lt-default,swarmboot,btfs"),
      "comma list of http, aria2, lt-default, lt-tuned, swarmboot, swarmboot-plain, btfs")(
      "scenarios", po::value(&scenarios)->default_value("full,churn,full-then-read,lazy"),
      "comma list of full, churn, full-then-read, lazy")(
      "n", po::value(&ns)->default_value("1,8,32"), "host counts for full distribution (not http: --http-n), comma list")(
      "read-n", po::value(&read_ns)->default_value("32"), "host counts for lazy and full-then-read")(
      "churn-n", po::value(&churn_ns)->default_value("32"), "host counts for churn")(
      "churn-systems", po::value(&churn_systems)->default_value("aria2,swarmboot"), "systems for churn")(
      "read-systems", po::value(&read_systems)->default_value("swarmboot,btfs"),
      "systems for lazy (swarmboot, btfs) and full-then-read (any but btfs)")(
      "size-mib", po::value(&opt.size_mib)->default_value(32), "image size")(
      "piece-kib", po::value(&opt.piece_kib)->default_value(64), "torrent piece size")(
      "rate-mbit", po::value(&opt.rate_mbit)->default_value(8), "every link's rate, both directions")(
      "mtu", po::value(&opt.mtu)->default_value(9000),
      "every link's MTU (9000: jumbo frames, fewer packets for the machine to move per byte)")(
      "http-n", po::value(&http_ns)->default_value("1,4"),
      "host counts for central HTTP (it needs N·F/R: a larger N only costs time)")(
      "timeout-factor", po::value(&opt.timeout_factor)->default_value(6), "give up after this × bound + 30 s")(
      "work-dir", po::value(&opt.work_dir)->default_value("/dev/shm/swarmboot-bench"), "scratch (tmpfs)")(
      "out", po::value(&opt.out_dir)->required(), "results folder")(
      "doc", po::value(&opt.doc), "update the generated section of this Markdown file")(
      "bin-dir", po::value(&opt.bin_dir), "folder with swarmbootd, swarmboot, swarmboot-agent")(
      "include-results", po::value(&opt.include_results),
      "report the runs of this earlier results.json together with this run's (a sweep resumed in parts)")(
      "no-boot-profile", po::bool_switch(&no_profile),
      "do not record a boot profile first; swarmboot agents fetch pieces in libtorrent's order")(
      "tag", po::value(&opt.tag)->default_value("bn"),
      "namespace tag (≤ 6 letters); a second driver running at the same time needs another");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "swarmboot-bench: could not parse the command line: " << e.what() << "\n";
    return 2;
  }
  if (opt.mtu < 1280 || opt.mtu > 65535) {
    std::cerr << "swarmboot-bench: --mtu must be between 1280 and 65535\n";
    return 2;
  }
  for (int i = 0; i < argc; ++i) opt.command_line += (i ? " " : "") + std::string(argv[i]);
  opt.systems = split(systems, ',');
  opt.scenarios = split(scenarios, ',');
  auto parse_ns = [](const std::string& text) {
    std::vector<int> out;
    for (const auto& s : split(text, ',')) out.push_back(std::stoi(s));
    return out;
  };
  opt.ns = parse_ns(ns);
  if (quick) {
    if (vm["n"].defaulted()) opt.ns = {1, 4};
    if (vm["read-n"].defaulted()) read_ns = "1,4";
    if (vm["churn-n"].defaulted()) churn_ns = "4";
    if (vm["churn-systems"].defaulted()) churn_systems = "aria2,lt-default,lt-tuned,swarmboot,swarmboot-plain";
    if (vm["read-systems"].defaulted()) read_systems = "swarmboot,lt-tuned,btfs";
    if (vm["size-mib"].defaulted()) opt.size_mib = 8;
    if (vm["rate-mbit"].defaulted()) opt.rate_mbit = 25;
    if (vm["piece-kib"].defaulted()) opt.piece_kib = 256;
  }
  opt.read_ns = parse_ns(read_ns);
  opt.http_ns = parse_ns(http_ns);
  opt.churn_ns = parse_ns(churn_ns);
  opt.churn_systems = split(churn_systems, ',');
  opt.read_systems = split(read_systems, ',');
  static const std::set<std::string> known_systems = {"http",      "aria2",          "lt-default", "lt-tuned",
                                                      "swarmboot", "swarmboot-plain", "btfs"};
  static const std::set<std::string> known_scenarios = {"full", "churn", "full-then-read", "lazy"};
  for (const auto* list : {&opt.systems, &opt.churn_systems, &opt.read_systems}) {
    for (const auto& s : *list) {
      if (!known_systems.count(s)) {
        std::cerr << "swarmboot-bench: unknown system '" << s << "'\n";
        return 2;
      }
    }
  }
  for (const auto& s : opt.scenarios) {
    if (!known_scenarios.count(s)) {
      std::cerr << "swarmboot-bench: unknown scenario '" << s << "'\n";
      return 2;
    }
  }
  for (const auto* list : {&opt.ns, &opt.http_ns, &opt.read_ns, &opt.churn_ns}) {
    if (std::any_of(list->begin(), list->end(), [](int n) { return n < 1 || n > 250; })) {
      std::cerr << "swarmboot-bench: N must be 1 to 250\n";
      return 2;
    }
  }
  if (auto why = swarmboot::testbed::testbed_unavailable_reason(); !why.empty()) {
    std::cerr << "swarmboot-bench: cannot build the test bed: " << why << "\n";
    return 77;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Context ctx(opt, swarmboot::Logger(std::make_shared<swarmboot::LogSink>(), "bench"));
  ctx.self_dir = fs::read_symlink("/proc/self/exe").parent_path();
  if (auto s = prepare_inputs(ctx); !s) {
    std::cerr << "swarmboot-bench: " << s.error().message << "\n";
    return 1;
  }
  if (!opt.include_results.empty()) {
    try {
      const auto earlier = nlohmann::json::parse(read_text(opt.include_results));
      for (const auto& j : earlier.at("runs")) {
        auto r = swarmboot::bench::from_json(j);
        if (!r) throw std::runtime_error(r.error().message);
        if (r->note == "interrupted") continue;  // cut short by Ctrl-C: not a measurement
        ctx.results.push_back(*r);
      }
      ctx.opt.command_line = earlier.value("command", std::string()) + "\n" + ctx.opt.command_line;
    } catch (const std::exception& e) {
      std::cerr << "swarmboot-bench: could not read " << opt.include_results << ": " << e.what() << "\n";
      return 2;
    }
  }
  ctx.log.info("image {} MiB, pieces {} KiB, info-hash {}, rate {} Mbit/s, MTU {}, bound F/R = {:.1f} s", opt.size_mib,
               opt.piece_kib, ctx.info_hash, opt.rate_mbit, opt.mtu,
               swarmboot::bench::kumar_ross_bound_s(ctx.size, opt.rate_mbit));

  if (!no_profile && std::any_of(opt.systems.begin(), opt.systems.end(), is_swarmboot)) {
    if (auto s = record_profile(ctx); !s) ctx.log.warn("{}; swarmboot runs without a boot profile", s.error().message);
  }

  // Which combinations make sense: churn and the read scenarios need a swarm; lazy needs a lazy system.
  for (const auto& scenario : opt.scenarios) {
    std::vector<int> ns_here = scenario == "churn" ? opt.churn_ns : scenario == "full" ? opt.ns : opt.read_ns;
    if (scenario == "full") {
      // Central HTTP has its own host counts: those not in --n run after them.
      for (int n : opt.http_ns) {
        if (std::find(ns_here.begin(), ns_here.end(), n) == ns_here.end()) ns_here.push_back(n);
      }
    }
    for (int n : ns_here) {
      for (const auto& system : opt.systems) {
        if (g_interrupted) break;
        if (scenario == "churn" && (system == "http" || system == "btfs" || n < 2 ||
                                    std::find(opt.churn_systems.begin(), opt.churn_systems.end(), system) ==
                                        opt.churn_systems.end())) {
          continue;
        }
        const bool reads = scenario == "lazy" || scenario == "full-then-read";
        if (reads && std::find(opt.read_systems.begin(), opt.read_systems.end(), system) == opt.read_systems.end()) {
          continue;
        }
        if (scenario == "lazy" && system != "swarmboot" && system != "btfs") continue;
        if (system == "btfs" && scenario != "lazy") continue;
        if (scenario == "full") {
          const auto& wanted = system == "http" ? opt.http_ns : opt.ns;
          if (std::find(wanted.begin(), wanted.end(), n) == wanted.end()) continue;
        }
        ctx.log.info("run: {} {} N={}", system, scenario, n);
        ctx.results.push_back(run_case(ctx, system, scenario, n));
        prune_image_copies(fs::path(ctx.opt.work_dir) / fmt::format("run-{}-{}-n{}", system, scenario, n));
        if (auto s = write_outputs(ctx); !s) ctx.log.warn("{}", s.error().message);
      }
    }
  }
  if (auto s = write_outputs(ctx); !s) {
    std::cerr << "swarmboot-bench: " << s.error().message << "\n";
    return 1;
  }
  std::cout << swarmboot::bench::markdown_table(ctx.results);
  return g_interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "swarmboot-bench: " << e.what() << "\n";
    return 1;
  }
}
