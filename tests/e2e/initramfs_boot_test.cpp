// The initramfs end to end: Debian's kernel and our initramfs.img boot under QEMU (TCG, direct -kernel/-initrd,
// a tap on the test bed's bridge) against a real swarmbootd (its DHCP, torrent, tracker, web seed, seeder and
// events API) in a namespace host. The command line is the one swarmbootd's boot script gives the machine.
//   - the sample image: /init fetches the torrent, checks its info-hash, starts swarmboot-agent, loop-mounts the
//     image from the FUSE mount, switch_roots; the sample's init prints its booted line; the host is "running".
//   - a wrong info-hash on the command line stops the boot at step 'torrent' with a clear console message, and
//     the host is "failed" with that reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "swarmboot/images/image_build.hpp"
#include "swarmcore/image_registry.hpp"
#include "testbed.hpp"

using namespace swarmboot;
using namespace swarmboot::testbed;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kToken = "e2e-admin-token-0123456789";
constexpr const char* kMac = "52:54:00:e2:00:01";
constexpr const char* kDebianMac = "52:54:00:e2:00:02";

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, size_t n = 4000) { return text.size() > n ? text.substr(text.size() - n) : text; }

std::string unavailable_reason() {
  if (auto why = testbed_unavailable_reason(); !why.empty()) return why;
  if (!fs::exists("/dev/net/tun")) return "no /dev/net/tun for the QEMU tap";
  if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0) return "no qemu-system-x86_64 (qemu-system-x86)";
  for (const char* f : {"vmlinuz", "initramfs.img"}) {
    if (!fs::exists(fs::path(SWARMBOOT_BOOT_DIR) / f))
      return std::string("no ") + SWARMBOOT_BOOT_DIR + "/" + f + " (build the initramfs target)";
  }
  return "";
}

class InitramfsBoot : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!(skip_ = unavailable_reason()).empty()) return;
    std::string p = (fs::temp_directory_path() / "swarmboot-e2e-initramfs-XXXXXX").string();
    work_ = new fs::path(::mkdtemp(p.data()));
    fs::permissions(*work_, fs::perms(0755));  // dnsmasq runs as nobody and reads DATA_DIR/tftp
    const fs::path data = *work_ / "data";
    fs::create_directories(data / "images");
    fs::create_directories(*work_ / "images");
    const Logger log(std::make_shared<LogSink>(LogLevel::warn), "e2e");
    auto built = images::build_sample(*work_ / "images/sample.img", log);
    ASSERT_TRUE(built.ok()) << built.error().message;
    auto rec = ImageRegistry(data / "images").add(*work_ / "images/sample.img", "sample", 64 * 1024);
    ASSERT_TRUE(rec.ok()) << rec.error().message;
    info_hash_ = new std::string(rec->info_hash);
    if (const char* debian = std::getenv("SWARMBOOT_E2E_DEBIAN_IMAGE"); debian && *debian) {
      auto d = ImageRegistry(data / "images").add(debian, "debian", 256 * 1024);
      ASSERT_TRUE(d.ok()) << d.error().message;
    }
    std::ofstream(*work_ / "token") << kToken;

    auto bed = TestBed::create("irf");
    ASSERT_TRUE(bed.ok()) << bed.error().message;
    bed_ = bed->release();
    ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16", 0}).ok());
    ASSERT_TRUE(bed_->add_tap("tapirf0").ok());
    auto pid = bed_->spawn("srv",
                           {SWARMBOOTD_BINARY, "--data-dir", data.string(), "--boot-dir", SWARMBOOT_BOOT_DIR,
                            "--listen", "10.99.0.1:8080", "--bt-listen", "10.99.0.1:6881", "--interface", "eth0",
                            "--dhcp-mode", "full", "--dhcp-range", "10.99.1.10,10.99.1.20",
                            "--api-token-file", (*work_ / "token").string(), "--unknown-hosts", "retry"},
                           (*work_ / "swarmbootd.log").string());
    ASSERT_TRUE(pid.ok()) << pid.error().message;
    const bool up = wait_until([] { return api({"/api/v1/hosts"}).has_value(); }, 20s, 200ms);
    ASSERT_TRUE(up) << "swarmbootd did not answer:\n" << tail(read_file(*work_ / "swarmbootd.log"));
    auto put = api({"-X", "PUT", "-H", "Content-Type: application/json", "--data",
                    R"({"image":"sample","mode":"diskless","hostname":"e2e1"})",
                    std::string("/api/v1/hosts/") + kMac});
    ASSERT_TRUE(put.has_value()) << tail(read_file(*work_ / "swarmbootd.log"));
    if (const char* debian = std::getenv("SWARMBOOT_E2E_DEBIAN_IMAGE"); debian && *debian) {
      ASSERT_TRUE(api({"-X", "PUT", "-H", "Content-Type: application/json", "--data",
                       R"({"image":"debian","mode":"diskless","hostname":"e2e2"})",
                       std::string("/api/v1/hosts/") + kDebianMac})
                      .has_value());
    }
  }

  static void TearDownTestSuite() {
    delete bed_;  // kills swarmbootd, QEMU, removes the namespaces
    bed_ = nullptr;
    if (work_ && !HasFailure() && std::getenv("SWARMBOOT_KEEP_LOGS") == nullptr) {
      std::error_code ec;
      fs::remove_all(*work_, ec);
    } else if (work_) {
      std::cerr << "e2e: logs kept in " << work_->string() << "\n";
    }
    delete work_;
    delete info_hash_;
    work_ = nullptr;
    info_hash_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(bed_, nullptr) << "the suite's setup failed";
  }

  // curl inside the server's namespace; the path may be preceded by curl options. nullopt unless 2xx.
  static std::optional<std::string> api(std::vector<std::string> args) {
    std::vector<std::string> argv = {"curl", "-fsS", "--max-time", "5", "-H",
                                     std::string("Authorization: Bearer ") + kToken};
    args.back() = "http://10.99.0.1:8080" + args.back();
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = bed_->run("srv", argv, 10s);
    if (!r.ok() || r->exit_code != 0) return std::nullopt;
    return r->output;
  }

  // The kernel command line from the host's iPXE script, as a machine would get it.
  static std::string boot_command_line(const std::string& mac = kMac) {
    auto script = api({"/boot.ipxe?mac=" + mac + "&arch=x86_64&platform=pcbios"});
    if (!script) return "";
    std::smatch m;
    if (!std::regex_search(*script, m, std::regex("kernel (http://\\S+) (.*) \\|\\| goto retry"))) return "";
    return m[2];
  }

  // Boots QEMU with `cmdline` and waits until the serial log contains `want` (or QEMU exits, or timeout).
  // Returns the serial log. QEMU is stopped before returning.
  static std::string boot_until(const std::string& cmdline, const std::string& want, const std::string& log_name,
                                std::chrono::seconds timeout, const std::string& mac = kMac) {
    const fs::path serial = *work_ / (log_name + ".serial");
    const fs::path boot = SWARMBOOT_BOOT_DIR;
    // The serial line is made the last console so that /dev/console (what /init and the image print to) is it.
    auto pid = bed_->spawn("fabric",
                           {"qemu-system-x86_64", "-accel", "tcg", "-m", "768", "-smp", "1", "-display", "none",
                            "-no-reboot", "-nodefaults", "-serial", "file:" + serial.string(), "-kernel",
                            (boot / "vmlinuz").string(), "-initrd", (boot / "initramfs.img").string(), "-append",
                            cmdline + " console=ttyS0,115200", "-netdev",
                            "tap,id=n0,ifname=tapirf0,script=no,downscript=no", "-device",
                            "virtio-net-pci,netdev=n0,mac=" + mac},
                           (*work_ / (log_name + ".qemu")).string());
    if (!pid.ok()) return "could not start qemu: " + pid.error().message;
    wait_until([&] { return read_file(serial).find(want) != std::string::npos || !bed_->running(*pid); }, timeout,
               500ms);
    bed_->stop(*pid, SIGTERM);
    return read_file(serial);
  }

  static nlohmann::json host_json(const std::string& mac = kMac) {
    auto body = api({"/api/v1/hosts/" + mac});
    if (!body) return {};
    return nlohmann::json::parse(*body, nullptr, false);
  }

  static inline std::string skip_;
  static inline fs::path* work_ = nullptr;
  static inline std::string* info_hash_ = nullptr;
  static inline TestBed* bed_ = nullptr;
};

TEST_F(InitramfsBoot, SampleImageSwitchesRootAndReportsBooted) {
  const std::string cmdline = boot_command_line();
  ASSERT_FALSE(cmdline.empty()) << "no boot script for " << kMac;
  ASSERT_NE(cmdline.find("swarmboot.infohash=" + *info_hash_), std::string::npos) << cmdline;

  const std::string log = boot_until(cmdline, "swarmboot sample image: booted", "sample", 150s);
  EXPECT_NE(log.find("swarmboot: torrent: info-hash " + *info_hash_ + " matches"), std::string::npos) << tail(log);
  EXPECT_NE(log.find("swarmboot: switch_root: switching root into sample"), std::string::npos) << tail(log);
  EXPECT_NE(log.find("swarmboot sample image: booted, reported to http://10.99.0.1:8080"), std::string::npos)
      << tail(log);
  EXPECT_EQ(log.find("FAILED"), std::string::npos) << tail(log);

  const auto host = host_json();
  ASSERT_TRUE(host.is_object()) << "no host JSON";
  EXPECT_EQ(host.value("state", ""), "running") << host.dump();
}

TEST_F(InitramfsBoot, WrongInfoHashStopsTheBootAtTheTorrentStep) {
  std::string cmdline = boot_command_line();
  ASSERT_FALSE(cmdline.empty());
  const std::string wrong(40, 'e');
  cmdline = std::regex_replace(cmdline, std::regex("swarmboot.infohash=[0-9a-f]{40}"), "swarmboot.infohash=" + wrong);

  const std::string log = boot_until(cmdline, "rebooting in", "wrong-hash", 120s);
  EXPECT_NE(log.find("swarmboot: FAILED at step 'torrent': info-hash mismatch: sample.torrent has " + *info_hash_ +
                     ", the command line says " + wrong),
            std::string::npos)
      << tail(log);
  EXPECT_EQ(log.find("switching root"), std::string::npos) << tail(log);
  EXPECT_EQ(log.find("starting swarmboot-agent"), std::string::npos) << tail(log);

  const auto host = host_json();
  ASSERT_TRUE(host.is_object());
  EXPECT_EQ(host.value("state", ""), "failed") << host.dump();
  auto events = api({std::string("/api/v1/events?mac=") + kMac});
  ASSERT_TRUE(events.has_value());
  EXPECT_NE(events->find("torrent: info-hash mismatch"), std::string::npos) << tail(*events);
}

// The Debian image (systemd) through the same initramfs: it must reach multi-user and report booted. Building
// the image takes minutes (debootstrap), so this runs when SWARMBOOT_E2E_DEBIAN_IMAGE names a built image
// (`swarmboot image build --debian bookworm --out FILE`); the full Debian PXE test lives with the demo rack.
TEST_F(InitramfsBoot, DebianImageReachesMultiUserAndReportsBooted) {
  const char* debian = std::getenv("SWARMBOOT_E2E_DEBIAN_IMAGE");
  if (!debian || !*debian) GTEST_SKIP() << "set SWARMBOOT_E2E_DEBIAN_IMAGE to a Debian image built by swarmboot image build --debian";
  const std::string cmdline = boot_command_line(kDebianMac);
  ASSERT_FALSE(cmdline.empty());
  const std::string log = boot_until(cmdline, "swarmboot-debian", "debian", 240s, kDebianMac);
  EXPECT_NE(log.find("swarmboot: switch_root: switching root into debian"), std::string::npos) << tail(log);
  const bool reported = wait_until([&] { return read_file(*work_ / "debian.serial").find("booted, reported to") != std::string::npos; }, 30s);
  EXPECT_TRUE(reported) << tail(read_file(*work_ / "debian.serial"));
  const auto host = host_json(kDebianMac);
  EXPECT_EQ(host.value("state", ""), "running") << host.dump();
}

}  // namespace
