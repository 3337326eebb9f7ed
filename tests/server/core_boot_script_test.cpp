// Boot scripts are compared byte for byte with golden files in tests/server/golden/ (one per mode, arch and
// special case). To regenerate after an intended change: SWARMBOOT_UPDATE_GOLDEN=1 ./server_core_test, then
// review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/boot_script.hpp"

namespace swarmboot::server {
namespace {

const std::string kGoldenDir = SWARMBOOT_GOLDEN_DIR;

void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = kGoldenDir + "/" + name;
  if (std::getenv("SWARMBOOT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(text, ss.str()) << "script differs from " << path;
}

BootScriptSettings settings() {
  BootScriptSettings s;
  s.server_url = "http://10.99.0.1:8080";
  return s;
}

BootTarget target(BootMode mode, HostState state) {
  BootTarget t;
  t.mac = "52:54:00:12:34:56";
  t.hostname = "web01";
  t.image = "debian-12";
  t.info_hash = "0123456789abcdef0123456789abcdef01234567";
  t.mode = mode;
  t.state = state;
  t.token = "tok0123456789abcdef0123456789abc";
  return t;
}

TEST(BootScript, GoldenPerModeAndArch) {
  for (auto mode : {BootMode::diskless, BootMode::install, BootMode::hypervisor}) {
    for (const char* arch : {"x86_64", "i386"}) {
      auto script = render_host_script(target(mode, HostState::fresh), arch, settings());
      ASSERT_TRUE(script.ok()) << script.error().message;
      expect_golden(std::string(to_string(mode)) + "-" + arch + ".ipxe", *script);
    }
  }
}

TEST(BootScript, GoldenSpecialCases) {
  auto installed = render_host_script(target(BootMode::install, HostState::installed), "x86_64", settings());
  ASSERT_TRUE(installed.ok());
  expect_golden("installed-x86_64.ipxe", *installed);
  auto arm = render_host_script(target(BootMode::diskless, HostState::fresh), "arm64", settings());
  ASSERT_TRUE(arm.ok());
  expect_golden("unsupported-arm64.ipxe", *arm);
  auto chain = render_chain_script(settings());
  ASSERT_TRUE(chain.ok());
  expect_golden("chain.ipxe", *chain);
  auto later =
      render_retry_later_script("52:54:00:12:34:56", "unknown machine, no image assigned", settings());
  ASSERT_TRUE(later.ok());
  expect_golden("retry-later.ipxe", *later);
  auto anon = target(BootMode::diskless, HostState::running);
  anon.hostname.clear();
  auto no_name = render_host_script(anon, "x86_64", settings());
  ASSERT_TRUE(no_name.ok());
  expect_golden("diskless-x86_64-nohostname.ipxe", *no_name);
}

TEST(BootScript, KernelCommandLineFollowsTheContract) {
  auto line = kernel_command_line(target(BootMode::diskless, HostState::fresh), settings());
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line,
            "initrd=initramfs.img swarmboot.server=http://10.99.0.1:8080 swarmboot.image=debian-12 "
            "swarmboot.infohash=0123456789abcdef0123456789abcdef01234567 swarmboot.mode=diskless "
            "swarmboot.token=tok0123456789abcdef0123456789abc swarmboot.mac=52:54:00:12:34:56 "
            "console=ttyS0,115200 console=tty0 quiet");
}

// Install mode tells the initramfs where to write (the host's disk setting, "auto" when unset) and how long to
// keep seeding after the image is on disk; other modes carry neither.
TEST(BootScript, InstallCommandLineNamesTheDiskAndSeedTime) {
  auto s = settings();
  s.install_seed_seconds = 45;
  auto t = target(BootMode::install, HostState::fresh);
  auto line = kernel_command_line(t, s);
  ASSERT_TRUE(line.ok());
  EXPECT_NE(line->find(" swarmboot.mode=install "), std::string::npos);
  EXPECT_NE(line->find(" swarmboot.disk=auto swarmboot.seed=45 "), std::string::npos) << *line;
  t.disk = "/dev/disk/by-id/virtio-rack1_slot3";
  line = kernel_command_line(t, s);
  ASSERT_TRUE(line.ok());
  EXPECT_NE(line->find(" swarmboot.disk=/dev/disk/by-id/virtio-rack1_slot3 "), std::string::npos) << *line;
  auto diskless = kernel_command_line(target(BootMode::diskless, HostState::fresh), s);
  ASSERT_TRUE(diskless.ok());
  EXPECT_EQ(diskless->find("swarmboot.disk="), std::string::npos);
  s.install_seed_seconds = -1;
  EXPECT_FALSE(kernel_command_line(t, s).ok());
}

// Every interpolated value is validated: none of these may render.
TEST(BootScript, RefusesInjection) {
  struct Case {
    const char* what;
    void (*spoil)(BootTarget&, BootScriptSettings&);
  } cases[] = {
      {"hostname with newline", [](BootTarget& t, BootScriptSettings&) { t.hostname = "web\nshell"; }},
      {"hostname with ${}", [](BootTarget& t, BootScriptSettings&) { t.hostname = "${net0/ip}"; }},
      {"image with space", [](BootTarget& t, BootScriptSettings&) { t.image = "a b"; }},
      {"image with ||", [](BootTarget& t, BootScriptSettings&) { t.image = "a||shell"; }},
      {"info-hash short", [](BootTarget& t, BootScriptSettings&) { t.info_hash = "abc"; }},
      {"token with space",
       [](BootTarget& t, BootScriptSettings&) { t.token = "0123456789abcdef init=/bin/sh"; }},
      {"mac not canonical", [](BootTarget& t, BootScriptSettings&) { t.mac = "52-54-00-12-34-56"; }},
      {"server url with path", [](BootTarget&, BootScriptSettings& s) { s.server_url = "http://x/y z"; }},
      {"server url https", [](BootTarget&, BootScriptSettings& s) { s.server_url = "https://x"; }},
      {"kernel args with $", [](BootTarget&, BootScriptSettings& s) { s.kernel_extra_args = "a=${x}"; }},
      {"kernel args with newline",
       [](BootTarget&, BootScriptSettings& s) { s.kernel_extra_args = "a\nshell"; }},
      {"zero attempts", [](BootTarget&, BootScriptSettings& s) { s.fetch_attempts = 0; }},
      {"disk with space", [](BootTarget& t, BootScriptSettings&) { t.disk = "/dev/vda init=/bin/sh"; }},
      {"disk outside /dev", [](BootTarget& t, BootScriptSettings&) { t.disk = "/etc/passwd"; }},
      {"disk with ..", [](BootTarget& t, BootScriptSettings&) { t.disk = "/dev/../etc/shadow"; }},
  };
  for (const auto& c : cases) {
    auto t = target(BootMode::diskless, HostState::fresh);
    auto s = settings();
    c.spoil(t, s);
    EXPECT_FALSE(render_host_script(t, "x86_64", s).ok()) << c.what;
  }
  EXPECT_FALSE(render_host_script(target(BootMode::diskless, HostState::fresh), "x86 64", settings()).ok());
  EXPECT_FALSE(render_retry_later_script("52:54:00:12:34:56", "no; shell", settings()).ok());
  EXPECT_FALSE(render_retry_later_script("zz", "fine", settings()).ok());
}

TEST(BootScript, RetryLoopIsBounded) {
  auto s = settings();
  s.fetch_attempts = 3;
  auto script = render_host_script(target(BootMode::diskless, HostState::fresh), "x86_64", s);
  ASSERT_TRUE(script.ok());
  EXPECT_NE(script->find("iseq ${attempt} 3 && goto give_up"), std::string::npos);
  EXPECT_EQ(script->rfind("#!ipxe\n", 0), 0u);
}

}  // namespace
}  // namespace swarmboot::server
