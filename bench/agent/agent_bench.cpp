// swarmboot-agent-bench: the lazy-mount figures of issue 3, swarmboot-agent against btfs (libtorrent + FUSE, the
// generic lazy-mount peer) on the same test bed, the same image, the same seed and tracker:
//   1. cold first read: 4 MiB at a random offset right after the mount appears, against its wire time at R;
//   2. bytes fetched per byte read: after the cold read, random 64 KiB reads; the client's received bytes
//      (its veth's rx counter, protocol overhead included) divided by the bytes the reads asked for;
//   3. sequential throughput once everything is local: reading the whole file through the mount vs reading the
//      client's cache file directly, both with their page cache dropped (posix_fadvise DONTNEED) first.
// Every read is compared with the image. A benchmark, not a test: it prints a Markdown table.
//
//   sudo swarmboot-agent-bench --agent build/fuse-agent/swarmboot-agent [--size-mib 64] [--rate-mbit 100]
//        [--piece-kib 1024] [--runs 3] [--systems swarmboot,btfs]
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <sstream>

#include "swarmcore/image_torrent.hpp"
#include "swarmcore/process.hpp"
#include "testbed.hpp"

namespace fs = std::filesystem;
namespace po = boost::program_options;
using namespace std::chrono_literals;
using swarmboot::testbed::TestBed;
using swarmboot::testbed::wait_until;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string agent;
  int size_mib = 64;
  double rate_mbit = 100;
  int piece_kib = 1024;
  int runs = 3;
  std::string systems = "swarmboot,btfs";
  std::string work_dir = "/dev/shm/swarmboot-agent-bench";
  std::vector<std::string> seed_settings;  // --lt-setting for the seed, to measure seed-side knobs
  std::vector<std::string> agent_settings; // --lt-setting for the agent
};

struct RunResult {
  std::string system;
  double cold_read_s = -1;      // -1: did not return within the bound
  double fetched_per_read = -1;
  double mount_mbps = -1, cache_mbps = -1;
  bool bytes_ok = true;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string random_bytes(size_t size, unsigned seed) {
  std::string d(size, '\0');
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(&d[i], &v, 8);
  }
  d.replace(0, 4, "hsqs");
  return d;
}

std::string pread_exact(int fd, std::int64_t off, size_t len) {
  std::string out(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(off) + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// Reads the whole file with 1 MiB reads after dropping clean page cache; MB/s (1e6 bytes), or -1 on a mismatch.
// posix_fadvise(DONTNEED) does not reliably evict a FUSE file's pages, so the kernel's clean page cache is
// dropped as a whole (a benchmark runs as root anyway); tmpfs-backed cache files stay in memory, as the
// agent's tmpfs cache does in the initramfs.
double sequential_mbps(const fs::path& file, const std::string& image) {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "1\n";
  int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  const auto t0 = Clock::now();
  std::string all;
  all.reserve(image.size());
  for (std::int64_t off = 0; off < static_cast<std::int64_t>(image.size()); off += 1 << 20)
    all += pread_exact(fd, off, 1 << 20);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  return all == image ? static_cast<double>(image.size()) / s / 1e6 : -1;
}

long rx_bytes(TestBed& bed, const std::string& host) {
  auto r = bed.run(host, {"cat", "/sys/class/net/eth0/statistics/rx_bytes"});
  return r && r->exit_code == 0 ? std::stol(r->output) : -1;
}

std::vector<std::string> in_our_mounts(std::vector<std::string> argv) {
  std::vector<std::string> full = {"nsenter", "--mount=/proc/" + std::to_string(getpid()) + "/ns/mnt", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// A FUSE daemon that never answers leaves readers stuck: abort the connection, then unmount.
void force_unmount(const fs::path& mnt) {
  (void)swarmboot::run_process({"sh", "-c", "c=$(stat -c %d '" + mnt.string() +
                                                "'); [ -e /sys/fs/fuse/connections/$c/abort ] && echo 1 > "
                                                "/sys/fs/fuse/connections/$c/abort; umount -l '" + mnt.string() + "'"});
}

RunResult run_one(TestBed& bed, const Options& o, const std::string& system, int run, const fs::path& torrent,
                  const std::string& image, const std::string& name) {
  RunResult res{system};
  const fs::path dir = fs::path(o.work_dir) / (system + "-" + std::to_string(run));
  fs::remove_all(dir);
  fs::create_directories(dir / "mnt");
  fs::create_directories(dir / "cache");
  const long rx0 = rx_bytes(bed, "client");
  pid_t pid = -1;
  if (system == "swarmboot") {
    std::vector<std::string> argv = {o.agent, "mount", "--torrent", torrent.string(), "--cache",
                                     (dir / "cache").string(), "--mountpoint", (dir / "mnt").string(),
                                     "--tracker", "http://" + bed.ip("seed") + ":6969/announce",
                                     "--status-file", (dir / "status.json").string(), "--foreground"};
    for (const auto& s : o.agent_settings) argv.insert(argv.end(), {"--lt-setting", s});
    pid = *bed.spawn("client", in_our_mounts(argv), (dir / "client.log").string());
  } else {
    pid = *bed.spawn("client", in_our_mounts({"btfs", "-f", "--data-directory=" + (dir / "cache").string(),
                                              torrent.string(), (dir / "mnt").string()}),
                     (dir / "client.log").string());
  }
  const fs::path file = dir / "mnt" / name;
  if (!wait_until([&] { std::error_code ec; return fs::file_size(file, ec) == image.size(); }, 30s)) {
    std::cerr << system << ": the mount did not appear\n" << read_text(dir / "client.log");
    bed.stop(pid, SIGKILL);
    force_unmount(dir / "mnt");
    return res;
  }
  std::mt19937_64 rng(1000 + run);
  const size_t cold_len = 4 << 20;
  const auto cold_off = static_cast<std::int64_t>(rng() % (image.size() - cold_len));
  std::int64_t bytes_read = 0;
  // Reads run on another thread, bounded: btfs can leave a reader waiting forever.
  auto reads = std::async(std::launch::async, [&] {
    int fd = ::open(file.c_str(), O_RDONLY);
    const auto t0 = Clock::now();
    const std::string got = pread_exact(fd, cold_off, cold_len);
    res.cold_read_s = std::chrono::duration<double>(Clock::now() - t0).count();
    res.bytes_ok = got == image.substr(static_cast<size_t>(cold_off), cold_len);
    bytes_read += cold_len;
    for (int i = 0; i < 24; ++i) {
      const auto off = static_cast<std::int64_t>(rng() % (image.size() - 65536));
      res.bytes_ok = res.bytes_ok && pread_exact(fd, off, 65536) == image.substr(static_cast<size_t>(off), 65536);
      bytes_read += 65536;
    }
    ::close(fd);
  });
  if (reads.wait_for(120s) != std::future_status::ready) {
    std::cerr << system << ": reads did not return within 120 s; aborting the FUSE connection\n";
    res.cold_read_s = -1;
    force_unmount(dir / "mnt");
    reads.wait();
    bed.stop(pid, SIGKILL);
    return res;
  }
  res.fetched_per_read = static_cast<double>(rx_bytes(bed, "client") - rx0) / static_cast<double>(bytes_read);

  // Everything local: one full pass through the mount fetches whatever is missing, then measure cold passes.
  int fd = ::open(file.c_str(), O_RDONLY);
  for (std::int64_t off = 0; off < static_cast<std::int64_t>(image.size()); off += 1 << 20) pread_exact(fd, off, 1 << 20);
  ::close(fd);
  fs::path cache_file;
  for (const auto& e : fs::recursive_directory_iterator(dir / "cache"))
    if (e.is_regular_file() && e.path().filename() == name) cache_file = e.path();
  if (system == "swarmboot")
    wait_until([&] { return read_text(dir / "status.json").find("\"seeding\"") != std::string::npos; }, 60s);
  // The machine is shared and noisy: alternate five passes of each and keep the medians.
  std::vector<double> mount_passes, cache_passes;
  for (int pass = 0; pass < 5; ++pass) {
    mount_passes.push_back(sequential_mbps(file, image));
    if (!cache_file.empty()) cache_passes.push_back(sequential_mbps(cache_file, image));
  }
  const auto median = [](std::vector<double> v) {
    if (v.empty()) return -1.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  res.mount_mbps = median(mount_passes);
  res.cache_mbps = median(cache_passes);
  for (double m : mount_passes)
    if (m < 0) res.bytes_ok = false;

  if (system == "swarmboot") {
    bed.stop(pid, SIGTERM, 10s);
  } else {
    force_unmount(dir / "mnt");
    bed.stop(pid, SIGKILL);
  }
  force_unmount(dir / "mnt");
  return res;
}

}  // namespace

int main(int argc, char** argv) try {
  Options o;
  po::options_description desc("swarmboot-agent-bench");
  desc.add_options()("agent", po::value(&o.agent)->required(), "path of swarmboot-agent")(
      "size-mib", po::value(&o.size_mib), "image size")("rate-mbit", po::value(&o.rate_mbit), "link rate R")(
      "piece-kib", po::value(&o.piece_kib), "piece size")("runs", po::value(&o.runs), "runs per system")(
      "systems", po::value(&o.systems), "swarmboot,btfs")("work-dir", po::value(&o.work_dir), "scratch")(
      "seed-lt-setting", po::value(&o.seed_settings)->composing(), "libtorrent NAME=VALUE for the seed")(
      "agent-lt-setting", po::value(&o.agent_settings)->composing(), "libtorrent NAME=VALUE for the agent");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  po::notify(vm);
  if (auto why = swarmboot::testbed::testbed_unavailable_reason(); !why.empty()) {
    std::cerr << "swarmboot-agent-bench: " << why << "\n";
    return 77;
  }
  fs::remove_all(o.work_dir);
  fs::create_directories(o.work_dir);
  const std::string name = "img";
  const std::string image = random_bytes(static_cast<size_t>(o.size_mib) << 20, 7);
  const fs::path image_file = fs::path(o.work_dir) / name;
  std::ofstream(image_file, std::ios::binary).write(image.data(), static_cast<std::streamsize>(image.size()));
  auto t = swarmboot::create_image_torrent(image_file, name, static_cast<std::int64_t>(o.piece_kib) * 1024);
  if (!t) throw std::runtime_error(t.error().message);

  auto bed_r = TestBed::create("agb");
  if (!bed_r) throw std::runtime_error(bed_r.error().message);
  auto& bed = **bed_r;
  if (!bed.add_host({"seed", "10.99.74.1/16", o.rate_mbit}) || !bed.add_host({"client", "10.99.74.11/16", o.rate_mbit}))
    throw std::runtime_error("could not add hosts");

  // btfs takes trackers only from the torrent: add "announce" (outside the info dict: same info-hash).
  lt::entry e(lt::bdecode(lt::span<const char>(t->bytes.data(), static_cast<std::ptrdiff_t>(t->bytes.size()))));
  e["announce"] = "http://" + bed.ip("seed") + ":6969/announce";
  std::vector<char> tb;
  lt::bencode(std::back_inserter(tb), e);
  const fs::path torrent = fs::path(o.work_dir) / (name + ".torrent");
  std::ofstream(torrent, std::ios::binary).write(tb.data(), static_cast<std::streamsize>(tb.size()));

  // Debian's opentracker serves whitelisted info-hashes only; it chroots to -d.
  fs::create_directories(fs::path(o.work_dir) / "tracker");
  std::ofstream(fs::path(o.work_dir) / "tracker" / "whitelist") << t->info_hash << "\n";
  (void)bed.spawn("seed", {"opentracker", "-i", bed.ip("seed"), "-p", "6969", "-P", "6969", "-d",
                           (fs::path(o.work_dir) / "tracker").string(), "-w", "/whitelist"},
                  (fs::path(o.work_dir) / "tracker.log").string());
  std::vector<std::string> seed = {o.agent, "seed", "--torrent", torrent.string(), "--data", image_file.string(),
                                   "--listen", "6881", "--tracker", "http://" + bed.ip("seed") + ":6969/announce"};
  for (const auto& s : o.seed_settings) seed.insert(seed.end(), {"--lt-setting", s});
  (void)bed.spawn("seed", seed, (fs::path(o.work_dir) / "seed.log").string());
  std::this_thread::sleep_for(2s);  // the seed announces

  std::vector<RunResult> results;
  std::stringstream systems(o.systems);
  for (std::string system; std::getline(systems, system, ',');)
    for (int run = 0; run < o.runs; ++run) {
      results.push_back(run_one(bed, o, system, run, torrent, image, name));
      const auto& r = results.back();
      std::cerr << system << " run " << run << ": cold " << r.cold_read_s << " s, fetched/read " << r.fetched_per_read
                << ", mount " << r.mount_mbps << " MB/s, cache " << r.cache_mbps << " MB/s, bytes "
                << (r.bytes_ok ? "ok" : "MISMATCH") << "\n";
    }

  const double wire = (4.0 * 8 * 1024 * 1024) / (o.rate_mbit * 1e6);
  std::printf("Image %d MiB, pieces %d KiB, R = %g Mbit/s, one seed (swarmboot-agent seed, LAN-tuned) + opentracker, "
              "one client; 4 MiB wire time %.3f s.\n\n",
              o.size_mib, o.piece_kib, o.rate_mbit, wire);
  std::printf("| system | run | cold 4 MiB read (s) | × wire time | fetched / read (random reads) | mount MB/s | cache file MB/s | mount / cache | bytes |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  int i = 0;
  std::string last;
  for (const auto& r : results) {
    if (r.system != last) i = 0;
    last = r.system;
    std::printf("| %s | %d | %s | %s | %.2f | %.0f | %.0f | %.0f%% | %s |\n", r.system.c_str(), i++,
                r.cold_read_s < 0 ? "hung (aborted at 120 s)" : std::to_string(r.cold_read_s).substr(0, 5).c_str(),
                r.cold_read_s < 0 ? "–" : (std::to_string(r.cold_read_s / wire).substr(0, 4) + "×").c_str(),
                r.fetched_per_read, r.mount_mbps, r.cache_mbps,
                r.cache_mbps > 0 ? 100 * r.mount_mbps / r.cache_mbps : 0.0, r.bytes_ok ? "ok" : "MISMATCH");
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "swarmboot-agent-bench: " << e.what() << "\n";
  return 1;
}
