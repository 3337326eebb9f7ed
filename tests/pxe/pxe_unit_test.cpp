// Unit tests of the PXE component's pure parts: the dnsmasq.conf renderer (golden files per mode, and
// dnsmasq's own `--test` syntax check of each), settings validation (tables), the dhcp-script text, and the
// dnsmasq log reader. Regenerate the golden files with SWARMBOOT_UPDATE_GOLDEN=1 after an intended change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "swarmboot/pxe/dnsmasq_log.hpp"
#include "swarmboot/pxe/pxe_config.hpp"
#include "swarmboot/pxe/pxe_service.hpp"
#include "swarmcore/process.hpp"

namespace {
using namespace swarmboot;
using namespace swarmboot::pxe;

const InterfaceAddress kIface{"eth0", 0x0a630001, 16};  // 10.99.0.1/16

PxeSettings settings(DhcpMode mode) {
  PxeSettings s;
  s.mode = mode;
  s.interface = "eth0";
  s.dhcp_range = mode == DhcpMode::full ? "10.99.0.100,10.99.0.200" : "";
  s.server_url = "http://10.99.0.1:8080";
  s.report_url = "http://127.0.0.1:8080";
  s.state_dir = "/var/lib/swarmboot/pxe";
  s.tftp_root = "/var/lib/swarmboot/tftp";
  s.report_events = true;
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = std::string(PXE_GOLDEN_DIR) + "/" + name;
  if (std::getenv("SWARMBOOT_UPDATE_GOLDEN") != nullptr) std::ofstream(path) << text;
  EXPECT_EQ(read_file(path), text) << "golden file " << path << " differs";
}

// dnsmasq's own syntax check of a rendered configuration (it does not look at interfaces or files).
void expect_dnsmasq_accepts(const std::string& text) {
  if (!run_process({"dnsmasq", "--version"}).ok()) GTEST_SKIP() << "dnsmasq is not installed (Debian dnsmasq-base)";
  const std::string path = testing::TempDir() + "/pxe-unit-dnsmasq.conf";
  std::ofstream(path) << text;
  auto r = run_process({"dnsmasq", "--test", "--conf-file=" + path});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_NE(r->output.find("syntax check OK"), std::string::npos) << r->output;
}

TEST(PxeConfigGolden, FullMode) {
  auto c = make_pxe_config(settings(DhcpMode::full), kIface);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const std::string text = render_dnsmasq_conf(*c);
  expect_golden("full.conf", text);
  expect_dnsmasq_accepts(text);
}

TEST(PxeConfigGolden, ProxyMode) {
  auto c = make_pxe_config(settings(DhcpMode::proxy), kIface);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const std::string text = render_dnsmasq_conf(*c);
  expect_golden("proxy.conf", text);
  expect_dnsmasq_accepts(text);
}

TEST(PxeConfigGolden, OffModeHasNoConfiguration) {
  auto c = make_pxe_config(settings(DhcpMode::off), kIface);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "could not configure dnsmasq: --dhcp-mode is off");
}

TEST(PxeConfigGolden, DhcpScript) {
  expect_golden("dhcp-event.sh", render_dhcp_script("http://127.0.0.1:8080", "/var/lib/swarmboot/pxe/token",
                                                    "/var/lib/swarmboot/pxe/dnsmasq.leases"));
  auto sh = run_process({"sh", "-n", std::string(PXE_GOLDEN_DIR) + "/dhcp-event.sh"});
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->exit_code, 0) << sh->output;
}

TEST(PxeConfig, WithoutTokenThereIsNoDhcpScript) {
  auto s = settings(DhcpMode::full);
  s.report_events = false;
  auto c = make_pxe_config(s, kIface);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(render_dnsmasq_conf(*c).find("dhcp-script"), std::string::npos);
}

TEST(PxeConfig, LeaseTimeFromTheRangeOrTheDefault) {
  auto s = settings(DhcpMode::full);
  EXPECT_EQ(make_pxe_config(s, kIface)->lease_time, "24h");
  s.dhcp_range = "10.99.0.100,10.99.0.200,12h";
  EXPECT_EQ(make_pxe_config(s, kIface)->lease_time, "12h");
  EXPECT_NE(render_dnsmasq_conf(*make_pxe_config(s, kIface)).find("dhcp-range=10.99.0.100,10.99.0.200,255.255.0.0,12h\n"),
            std::string::npos);
}

TEST(PxeConfig, BadSettingsAreRefusedNamingTheFlag) {
  struct Case {
    std::string range;
    InterfaceAddress iface;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", kIface, "could not use --dhcp-range '': expected FIRST,LAST or FIRST,LAST,LEASE"},
      {"10.99.0.100", kIface, "could not use --dhcp-range '10.99.0.100': expected FIRST,LAST or FIRST,LAST,LEASE"},
      {"10.99.0.100,10.99.0.300", kIface, "could not use --dhcp-range '10.99.0.100,10.99.0.300': '10.99.0.300' is not an IPv4 address"},
      {"10.99.0.200,10.99.0.100", kIface, "could not use --dhcp-range '10.99.0.200,10.99.0.100': FIRST is after LAST"},
      {"10.98.0.100,10.98.0.200", kIface, "could not use --dhcp-range '10.98.0.100,10.98.0.200': it is not inside 10.99.0.0/16 on interface eth0"},
      {"10.99.0.1,10.99.0.20", kIface, "could not use --dhcp-range '10.99.0.1,10.99.0.20': it contains this server's address 10.99.0.1"},
      {"10.99.0.100,10.99.0.200,5", kIface, "could not use --dhcp-range: lease time '5' is shorter than dnsmasq's minimum of 2m"},
      {"10.99.0.100,10.99.0.200,12x", kIface, "could not use --dhcp-range: lease time '12x' is not a number with an optional s, m, h, d or w suffix"},
      {"10.99.0.100,10.99.0.200", {"eth0", 0x0a630001, 32}, "could not use --interface eth0: its address 10.99.0.1/32 leaves no room for DHCP clients"},
  };
  for (const auto& c : cases) {
    auto s = settings(DhcpMode::full);
    s.dhcp_range = c.range;
    auto r = make_pxe_config(s, c.iface);
    ASSERT_FALSE(r.ok()) << c.range;
    EXPECT_EQ(r.error().message, c.error);
  }
}

TEST(PxeConfig, ProxyModeIgnoresTheRangeAndUsesTheSubnet) {
  auto c = make_pxe_config(settings(DhcpMode::proxy), {"br0", 0xc0a80a05, 24});  // 192.168.10.5/24
  ASSERT_TRUE(c.ok());
  const std::string text = render_dnsmasq_conf(*c);
  EXPECT_NE(text.find("dhcp-range=192.168.10.0,proxy,255.255.255.0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("dhcp-authoritative"), std::string::npos);
}

TEST(PxeConfig, Ipv4Parsing) {
  EXPECT_EQ(*parse_ipv4("10.99.0.1"), 0x0a630001u);
  EXPECT_EQ(format_ipv4(0x0a630001u), "10.99.0.1");
  for (const char* bad : {"", "10.99.0", "10.99.0.1.2", "10.99.0.256", "a.b.c.d", "10..0.1", "1000.1.1.1"}) {
    EXPECT_FALSE(parse_ipv4(bad).ok()) << bad;
  }
}

TEST(PxeConfig, Ipv4Masks) {
  EXPECT_EQ(ipv4_mask(0), 0u);
  EXPECT_EQ(ipv4_mask(16), 0xffff0000u);
  EXPECT_EQ(ipv4_mask(24), 0xffffff00u);
  EXPECT_EQ(ipv4_mask(32), 0xffffffffu);
  EXPECT_EQ(format_ipv4(*parse_ipv4("10.99.3.7") & ipv4_mask(16)), "10.99.0.0");
}

TEST(DnsmasqLogReader, LevelsOfOrdinaryLines) {
  DnsmasqLogReader r;
  struct Case {
    std::string line;
    LogLevel level;
  };
  const std::vector<Case> cases = {
      {"dnsmasq: started, version 2.90 DNS disabled", LogLevel::info},
      {"dnsmasq-dhcp: DHCPACK(eth0) 10.99.0.150 52:54:00:12:34:56", LogLevel::info},
      {"dnsmasq-dhcp: 3735928559 DHCPOFFER(eth0) 10.99.0.150 52:54:00:12:34:56", LogLevel::info},
      {"dnsmasq-dhcp: 3735928559 requested options: 1:netmask, 3:router", LogLevel::debug},
      {"dnsmasq-tftp: sent /var/lib/swarmboot/tftp/undionly.kpxe to 10.99.0.150", LogLevel::info},
      {"dnsmasq: failed to create listening socket for port 67: Address in use", LogLevel::warn},
      {"dnsmasq-tftp: cannot access /x/undionly.kpxe: Permission denied", LogLevel::warn},
  };
  for (const auto& c : cases) {
    auto out = r.read(c.line);
    ASSERT_EQ(out.size(), 1u) << c.line;
    EXPECT_EQ(out[0].level, c.level) << c.line;
    EXPECT_EQ(out[0].text, c.line);
  }
}

TEST(DnsmasqLogReader, WarnsOnceNamingAMachineWithoutAnIpxeBinary) {
  DnsmasqLogReader r;
  (void)r.read("dnsmasq-dhcp: 42 available DHCP range: 10.99.0.100 -- 10.99.0.200");
  (void)r.read("dnsmasq-dhcp: 42 vendor class: PXEClient:Arch:00011:UNDI:003001");
  (void)r.read("dnsmasq-dhcp: 42 DHCPDISCOVER(eth0) 52:54:00:aa:bb:cc");
  (void)r.read("dnsmasq-dhcp: 7 tags: bios, pxe-arch, eth0");  // another machine, a supported one
  auto out = r.read("dnsmasq-dhcp: 42 tags: no-ipxe-binary, pxe-arch, eth0");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].level, LogLevel::warn);
  EXPECT_EQ(out[1].text,
            "machine 52:54:00:aa:bb:cc gets no boot file: swarmboot has no iPXE binary for its architecture "
            "(vendor class PXEClient:Arch:00011:UNDI:003001)");
  EXPECT_EQ(r.read("dnsmasq-dhcp: 42 tags: no-ipxe-binary, pxe-arch, eth0").size(), 1u);  // REQUEST: no repeat
}

// A TFTP root below a 0700 folder is unreachable for dnsmasq (user nobody): the service names that folder.
TEST(PxeService, FindsTheFolderThatHidesTheTftpRootFromNobody) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/sbpxe-XXXXXX";
  const fs::path top = ::mkdtemp(tmpl);
  fs::create_directories(top / "data/tftp");
  fs::permissions(top, fs::perms(0755));
  EXPECT_EQ(folder_hiding_from_others(top / "data/tftp"), std::nullopt);
  fs::permissions(top / "data", fs::perms(0700));
  auto hiding = folder_hiding_from_others(top / "data/tftp");
  ASSERT_TRUE(hiding.has_value());
  EXPECT_EQ(*hiding, top / "data");
  fs::remove_all(top);
}

}  // namespace
