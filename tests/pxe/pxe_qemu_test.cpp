// PXE end to end (label e2e): QEMU machines on the test-bed bridge boot from the network through the real
// swarmbootd + dnsmasq. BIOS: SeaBIOS runs the virtio NIC's iPXE ROM, which gets the boot script URL over DHCP.
// UEFI: OVMF's own PXE client (the NIC's iPXE ROM removed) gets ipxe.efi over TFTP, and that iPXE gets the boot script URL. Both must then
// ask swarmbootd for /boot.ipxe?mac=…&arch=…, which registers the machine (--unknown-hosts register) with an
// event naming its MAC and iPXE's architecture; that event is what these tests wait for (bounded: 120 s).
// The same two machines boot once more in proxyDHCP mode, beside a plain dnsmasq playing the site's server.
#include <gtest/gtest.h>
#include <signal.h>

#include "pxe_fixture.hpp"

namespace {
using namespace swarmboot;
using namespace swarmboot::pxetest;

class PxeQemu : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (!std::filesystem::exists("/dev/net/tun")) GTEST_SKIP() << "needs /dev/net/tun for the QEMU tap device";
    if (run_process({"sh", "-c", "command -v qemu-system-x86_64 && command -v dnsmasq && command -v curl"})
            .value()
            .exit_code != 0) {
      GTEST_SKIP() << "needs qemu-system-x86, dnsmasq and curl (scripts/deps.sh)";
    }
    auto bed = TestBed::create("pq");
    ASSERT_TRUE(bed.ok()) << bed.error().message;
    bed_ = std::move(*bed);
    dir_ = make_public_dir("pxe-qemu");
    ASSERT_TRUE(bed_->add_host({"srv", "10.99.0.1/16"}).ok());
    ASSERT_TRUE(bed_->add_tap("tap0").ok());
  }

  // full: swarmbootd's dnsmasq hands out addresses. proxy: a plain dnsmasq on host "site" plays the site's
  // DHCP server and swarmbootd's dnsmasq only adds boot information.
  void start_server(bool proxy) {
    std::vector<std::string> args = {"--interface", "eth0", "--unknown-hosts", "register", "--default-image", "pxetest"};
    if (proxy) {
      ASSERT_TRUE(bed_->add_host({"site", "10.99.0.2/16"}).ok());
      auto site = bed_->spawn("site",
                              {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                               "--interface=eth0", "--bind-interfaces",
                               "--dhcp-range=10.99.5.10,10.99.5.60,255.255.0.0,1h",
                               "--dhcp-leasefile=" + dir_ + "/site.leases", "--log-facility=-"},
                              dir_ + "/site.log");
      ASSERT_TRUE(site.ok()) << site.error().message;
      args.insert(args.end(), {"--dhcp-mode", "proxy"});
    } else {
      args.insert(args.end(), {"--dhcp-mode", "full", "--dhcp-range", "10.99.0.100,10.99.0.199"});
    }
    srv_ = start_swarmbootd(*bed_, "srv", dir_ + "/srv", args);
    ASSERT_GT(srv_.port, 0);
  }

  std::vector<std::string> ovmf() {
    const std::string vars = dir_ + "/OVMF_VARS_4M.fd";
    std::filesystem::copy_file("/usr/share/OVMF/OVMF_VARS_4M.fd", vars);
    return {"-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd", "-drive",
            "if=pflash,format=raw,file=" + vars};
  }
  void TearDown() override {
    bed_.reset();  // kills QEMU and swarmbootd, removes the namespaces
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Boots a machine with `firmware` arguments and waits for swarmbootd to register it from /boot.ipxe.
  // nic_extra: e.g. ",romfile=" to drop the NIC's iPXE ROM, so that the firmware's own PXE client boots.
  void boot_and_expect(const std::string& mac, const std::vector<std::string>& firmware, const std::string& arch,
                       const std::string& nic_extra = "") {
    std::vector<std::string> argv = {"qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-display", "none",
                                     "-serial", "file:" + dir_ + "/serial-" + arch + ".log", "-netdev",
                                     "tap,id=n0,ifname=tap0,script=no,downscript=no", "-device",
                                     "virtio-net-pci,netdev=n0,mac=" + mac + ",bootindex=1" + nic_extra};
    argv.insert(argv.end(), firmware.begin(), firmware.end());
    auto qemu = bed_->spawn("fabric", argv, dir_ + "/qemu-" + arch + ".log");
    ASSERT_TRUE(qemu.ok()) << qemu.error().message;
    std::string events;
    const bool registered = wait_until(
        [&] {
          events = api(*bed_, srv_, "GET", "/api/v1/events?mac=" + mac);
          return events.find("registered on first boot") != std::string::npos || !bed_->running(*qemu);
        },
        120s, 1s);
    EXPECT_TRUE(registered && bed_->running(*qemu))
        << "no /boot.ipxe request from " << mac << "; events: " << events << "\nQEMU: "
        << read_text(dir_ + "/qemu-" + arch + ".log") << "\nswarmbootd:\n" << read_text(srv_.log_file);
    EXPECT_NE(events.find("(arch " + arch + ")"), std::string::npos) << events;
    bed_->stop(*qemu, SIGKILL);
  }

  std::unique_ptr<TestBed> bed_;
  std::string dir_;
  Swarmbootd srv_;
};

TEST_F(PxeQemu, BiosMachineChainsFromTheNicRomToTheBootScript) {
  ASSERT_NO_FATAL_FAILURE(start_server(false));
  const std::string mac = "52:54:00:5b:00:01";
  boot_and_expect(mac, {}, "i386");
  // The ROM is iPXE already: it got the script URL, not another iPXE (no chainload loop).
  const std::string log = read_text(srv_.log_file);
  EXPECT_NE(log.find("DHCPACK(eth0)"), std::string::npos);
  EXPECT_EQ(log.find("sent " + dir_ + "/srv/tftp/undionly.kpxe"), std::string::npos);
}

TEST_F(PxeQemu, UefiMachineGetsIpxeEfiOverTftpThenTheBootScript) {
  ASSERT_NO_FATAL_FAILURE(start_server(false));
  boot_and_expect("52:54:00:5e:00:01", ovmf(), "x86_64", ",romfile=");
  EXPECT_NE(read_text(srv_.log_file).find("sent " + dir_ + "/srv/tftp/ipxe.efi"), std::string::npos)
      << read_text(srv_.log_file);
}

TEST_F(PxeQemu, ProxyDhcpBiosMachineTakesItsAddressFromTheSiteServer) {
  ASSERT_NO_FATAL_FAILURE(start_server(true));
  const std::string mac = "52:54:00:5b:00:02";
  boot_and_expect(mac, {}, "i386");
  EXPECT_NE(read_text(dir_ + "/site.leases").find(mac + " 10.99.5."), std::string::npos)
      << read_text(dir_ + "/site.leases");
  EXPECT_NE(read_text(srv_.log_file).find("PXE(eth0) " + mac + " proxy"), std::string::npos)
      << read_text(srv_.log_file);
}

TEST_F(PxeQemu, ProxyDhcpUefiMachineGetsIpxeEfiFromOurBootService) {
  ASSERT_NO_FATAL_FAILURE(start_server(true));
  const std::string mac = "52:54:00:5e:00:02";
  boot_and_expect(mac, ovmf(), "x86_64", ",romfile=");
  EXPECT_NE(read_text(dir_ + "/site.leases").find(mac + " 10.99.5."), std::string::npos)
      << read_text(dir_ + "/site.leases");
  EXPECT_NE(read_text(srv_.log_file).find("sent " + dir_ + "/srv/tftp/ipxe.efi"), std::string::npos)
      << read_text(srv_.log_file);
}

}  // namespace
