// PXE in network namespaces (label netns): the real swarmbootd runs dnsmasq on a test-bed bridge and real DHCP
// clients ask it for addresses and boot files: busybox udhcpc (one lease, the environment it exports) and
// pxe_dhcp_probe (every offer on the wire, to tell the site's DHCP server and our proxyDHCP apart).
// Also: TFTP of the iPXE binaries, lease events in swarmbootd's event log, the supervisor restarting a killed
// dnsmasq, and clear startup errors.
#include <gtest/gtest.h>
#include <signal.h>

#include "pxe_fixture.hpp"

namespace {
using namespace swarmboot;
using namespace swarmboot::pxetest;

class PxeNetns : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    for (const char* tool : {"dnsmasq", "udhcpc", "busybox", "curl"}) {
      if (run_process({"sh", "-c", std::string("command -v ") + tool}).value().exit_code != 0) {
        GTEST_SKIP() << tool << " is not installed (scripts/deps.sh)";
      }
    }
    if (!std::filesystem::exists("/usr/lib/ipxe/undionly.kpxe")) GTEST_SKIP() << "Debian's ipxe package is missing";
    auto bed = TestBed::create("px");
    ASSERT_TRUE(bed.ok()) << bed.error().message;
    bed_ = std::move(*bed);
    dir_ = make_public_dir("pxe-netns");
    script_ = dir_ + "/udhcpc-dump.sh";
    std::ofstream(script_) << "#!/bin/sh\n[ \"$1\" = bound ] && env > \"$UDHCPC_DUMP\"\nexit 0\n";
    std::filesystem::permissions(script_, std::filesystem::perms(0755));
  }
  void TearDown() override {
    bed_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // One udhcpc exchange from `host` with extra options; returns the environment udhcpc gave its script.
  std::string udhcpc(const std::string& host, const std::vector<std::string>& extra) {
    const std::string dump = dir_ + "/udhcpc-" + std::to_string(++runs_) + ".env";
    std::vector<std::string> argv = {"env", "UDHCPC_DUMP=" + dump, "udhcpc", "-i", "eth0", "-n", "-q", "-f",
                                     "-t", "4", "-T", "3", "-s", script_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = bed_->run(host, argv, 40s);
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r ? r->output : r.error().message);
    return read_text(dump);
  }

  std::string probe(const std::string& host, const std::string& mac, int arch, bool ipxe) {
    auto r = bed_->run(host, {PXE_DHCP_PROBE, "eth0", mac, std::to_string(arch), ipxe ? "ipxe" : "-", "4000"}, 20s);
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r ? r->output : r.error().message);
    return r ? r->output : "";
  }

  std::string mac_of(const std::string& host) {
    auto r = bed_->run(host, {"cat", "/sys/class/net/eth0/address"});
    std::string mac = r ? r->output : "";
    while (!mac.empty() && mac.back() == '\n') mac.pop_back();
    return mac;
  }

  std::unique_ptr<TestBed> bed_;
  std::string dir_;
  std::string script_;
  int runs_ = 0;
};

// The line of the probe's output that came from `server`.
std::string reply_from(const std::string& probe_output, const std::string& server) {
  std::istringstream in(probe_output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("from=" + server + " ", 0) == 0) return line;
  }
  return "";
}

std::string field(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  if (at == std::string::npos) return "<none>";
  const size_t start = at + key.size() + 1;
  return line.substr(start, line.find(' ', start) - start);
}

TEST_F(PxeNetns, FullModeGivesEachArchitectureItsBootFile) {
  ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16"}).ok());
  ASSERT_TRUE(bed_->add_host({"cli", "10.99.0.50/16"}).ok());
  auto srv = start_swarmbootd(*bed_, "srv", dir_ + "/srv",
                              {"--dhcp-mode", "full", "--interface", "eth0", "--dhcp-range", "10.99.0.100,10.99.0.199"});
  ASSERT_GT(srv.port, 0);
  const std::string boot_url = "http://10.99.0.1:" + std::to_string(srv.port) + "/boot.ipxe";
  const std::string mac = mac_of("cli");
  ASSERT_EQ(mac.size(), 17u);
  // A known host, so that its lease events land in the event log.
  ASSERT_NE(api(*bed_, srv, "PUT", "/api/v1/hosts/" + mac, "{}").find(mac), std::string::npos);
  ASSERT_TRUE(bed_->run("cli", {"ip", "addr", "flush", "dev", "eth0"}).ok());

  // BIOS PXE firmware: an address from the range, a long lease, undionly.kpxe from us over TFTP.
  const std::string bios = udhcpc("cli", {"-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"});
  const std::string ip = value_of(bios, "ip");
  EXPECT_EQ(ip.rfind("10.99.0.1", 0), 0u) << bios;  // 10.99.0.100–199
  EXPECT_EQ(value_of(bios, "boot_file"), "undionly.kpxe") << bios;
  EXPECT_EQ(value_of(bios, "siaddr"), "10.99.0.1") << bios;
  EXPECT_GE(std::atol(value_of(bios, "lease").c_str()), 12 * 3600) << bios;

  // The file it names is there: fetch it over TFTP from the leased address.
  ASSERT_TRUE(bed_->run("cli", {"ip", "addr", "add", ip + "/16", "dev", "eth0"}).ok());
  const std::string fetched = dir_ + "/undionly.kpxe";
  auto tftp = bed_->run("cli", {"busybox", "tftp", "-g", "-r", "undionly.kpxe", "-l", fetched, "10.99.0.1"}, 30s);
  ASSERT_TRUE(tftp.ok() && tftp->exit_code == 0) << (tftp ? tftp->output : tftp.error().message);
  EXPECT_EQ(read_text(fetched), read_text("/usr/lib/ipxe/undionly.kpxe"));

  // x86-64 UEFI firmware: ipxe.efi.
  EXPECT_EQ(value_of(udhcpc("cli", {"-V", "PXEClient:Arch:00007:UNDI:003001", "-x", "0x5d:0007"}), "boot_file"),
            "ipxe.efi");
  // iPXE (user class iPXE): the boot script URL, never iPXE again.
  EXPECT_EQ(value_of(udhcpc("cli", {"-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000", "-x",
                                    "0x4d:69505845"}),
                     "boot_file"),
            boot_url);
  // arm64 UEFI: an address but no boot file, and a warning naming the machine in swarmbootd's log.
  const std::string arm = udhcpc("cli", {"-V", "PXEClient:Arch:00011:UNDI:003001", "-x", "0x5d:000b"});
  EXPECT_FALSE(value_of(arm, "ip").empty()) << arm;
  EXPECT_EQ(value_of(arm, "boot_file"), "") << arm;
  EXPECT_TRUE(wait_until(
      [&] {
        return read_text(srv.log_file).find("WARN  dnsmasq: machine " + mac + " gets no boot file") != std::string::npos;
      },
      10s))
      << read_text(srv.log_file);

  // The dhcp-script reported the lease (with the firmware's vendor class) and the TFTP transfer.
  std::string events;
  EXPECT_TRUE(wait_until(
      [&] {
        events = api(*bed_, srv, "GET", "/api/v1/events?mac=" + mac);
        return events.find("PXEClient:Arch:00000") != std::string::npos &&
               events.find("tftp sent undionly.kpxe") != std::string::npos;
      },
      15s, 500ms))
      << events;
  EXPECT_NE(events.find("\"stage\":\"dhcp\""), std::string::npos) << events;
}

TEST_F(PxeNetns, KilledDnsmasqIsRestarted) {
  ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16"}).ok());
  ASSERT_TRUE(bed_->add_host({"cli", "10.99.0.50/16"}).ok());
  auto srv = start_swarmbootd(*bed_, "srv", dir_ + "/srv",
                              {"--dhcp-mode", "full", "--interface", "eth0", "--dhcp-range", "10.99.0.100,10.99.0.199"});
  ASSERT_GT(srv.port, 0);
  const auto before = children_named(srv.pid, "dnsmasq");
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(kill(before[0], SIGKILL), 0);
  std::vector<pid_t> after;
  ASSERT_TRUE(wait_until(
      [&] {
        after = children_named(srv.pid, "dnsmasq");
        return after.size() == 1 && after[0] != before[0];
      },
      15s))
      << read_text(srv.log_file);
  EXPECT_NE(read_text(srv.log_file).find("dnsmasq exited (signal"), std::string::npos);
  // And it serves again.
  ASSERT_TRUE(wait_until([&] { return read_text(srv.log_file).rfind("started, version") >
                                      read_text(srv.log_file).find("dnsmasq exited"); },
                         10s));
  ASSERT_TRUE(bed_->run("cli", {"ip", "addr", "flush", "dev", "eth0"}).ok());
  EXPECT_EQ(value_of(udhcpc("cli", {"-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"}), "boot_file"),
            "undionly.kpxe");
}

TEST_F(PxeNetns, BadSettingsFailAtStartupWithAClearMessage) {
  ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16"}).ok());
  const std::string data = dir_ + "/srv";
  ASSERT_TRUE(bed_->run("srv", {"ip", "link", "add", "dum0", "type", "veth", "peer", "name", "dum1"}).ok());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--dhcp-mode", "full", "--interface", "nosuch0", "--dhcp-range", "10.99.0.100,10.99.0.199"},
       "could not use --interface nosuch0: no such network interface (this machine has: dum0, dum1, eth0, lo)"},
      {{"--dhcp-mode", "proxy", "--interface", "dum0"},
       "could not use --interface dum0: it has no IPv4 address (DHCP and TFTP need one)"},
      {{"--dhcp-mode", "full", "--interface", "eth0", "--dhcp-range", "10.98.0.100,10.98.0.199"},
       "could not use --dhcp-range '10.98.0.100,10.98.0.199': it is not inside 10.99.0.0/16 on interface eth0"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {SWARMBOOTD_BINARY, "--data-dir", data, "--listen", "127.0.0.1:0", "--seeder",
                                     "false"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = bed_->run("srv", argv, 30s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_NE(r->exit_code, 0) << r->output;
    EXPECT_NE(r->output.find(c.message), std::string::npos) << r->output;
  }
}

TEST_F(PxeNetns, ProxyModeLeavesAddressesToTheSiteDhcpServer) {
  ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16"}).ok());
  ASSERT_TRUE(bed_->add_host({"site", "10.99.0.2/16"}).ok());
  ASSERT_TRUE(bed_->add_host({"cli", "10.99.0.50/16"}).ok());
  // The site's existing DHCP server: plain dnsmasq, addresses only, knows nothing about PXE.
  auto site = bed_->spawn("site",
                          {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--interface=eth0",
                           "--bind-interfaces", "--dhcp-range=10.99.5.10,10.99.5.60,255.255.0.0,1h",
                           "--dhcp-leasefile=" + dir_ + "/site.leases", "--log-facility=-", "--log-dhcp"},
                          dir_ + "/site.log");
  ASSERT_TRUE(site.ok()) << site.error().message;
  auto srv = start_swarmbootd(*bed_, "srv", dir_ + "/srv", {"--dhcp-mode", "proxy", "--interface", "eth0"});
  ASSERT_GT(srv.port, 0);
  const std::string mac = mac_of("cli");
  ASSERT_TRUE(bed_->run("cli", {"ip", "addr", "flush", "dev", "eth0"}).ok());

  // An ordinary DHCP client gets its address from the site's server; we stay silent (not a PXE client).
  const std::string plain = udhcpc("cli", {});
  EXPECT_EQ(value_of(plain, "ip").rfind("10.99.5.", 0), 0u) << plain;
  EXPECT_EQ(value_of(plain, "serverid"), "10.99.0.2") << plain;
  EXPECT_EQ(value_of(plain, "boot_file"), "") << plain;
  ASSERT_TRUE(bed_->run("cli", {"ip", "addr", "add", value_of(plain, "ip") + "/16", "dev", "eth0"}).ok());

  // A BIOS PXE client sees both: the site's offer with an address, ours with only boot information.
  const std::string bios = probe("cli", mac, 0, false);
  const std::string from_site = reply_from(bios, "10.99.0.2");
  const std::string from_us = reply_from(bios, "10.99.0.1");
  ASSERT_FALSE(from_site.empty()) << bios;
  ASSERT_FALSE(from_us.empty()) << bios;
  EXPECT_EQ(field(from_site, "yiaddr").rfind("10.99.5.", 0), 0u) << from_site;
  EXPECT_EQ(field(from_site, "file"), "") << from_site;
  EXPECT_EQ(field(from_us, "yiaddr"), "0.0.0.0") << from_us;
  EXPECT_EQ(field(from_us, "vendor"), "PXEClient") << from_us;
  EXPECT_EQ(field(from_us, "file"), "undionly.kpxe") << from_us;
  EXPECT_EQ(field(from_us, "siaddr"), "10.99.0.1") << from_us;
  EXPECT_EQ(field(from_us, "opt43"), "1") << from_us;  // the PXE menu with our single BIOS entry

  // iPXE gets the boot script URL from our proxy offer.
  const std::string ipxe = reply_from(probe("cli", mac, 0, true), "10.99.0.1");
  EXPECT_EQ(field(ipxe, "file"), "http://10.99.0.1:" + std::to_string(srv.port) + "/boot.ipxe") << ipxe;
  EXPECT_EQ(field(ipxe, "yiaddr"), "0.0.0.0") << ipxe;

  // UEFI firmware is sent on to our PXE boot service (port 4011 on siaddr), where ipxe.efi waits.
  const std::string uefi = reply_from(probe("cli", mac, 7, false), "10.99.0.1");
  EXPECT_EQ(field(uefi, "vendor"), "PXEClient") << uefi;
  EXPECT_EQ(field(uefi, "siaddr"), "10.99.0.1") << uefi;
  EXPECT_EQ(field(uefi, "yiaddr"), "0.0.0.0") << uefi;
}

}  // namespace
