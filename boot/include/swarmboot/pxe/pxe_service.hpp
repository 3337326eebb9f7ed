// The PXE component as swarmbootd sees it: one start() that turns the operator's choices (--dhcp-mode,
// --interface, --dhcp-range) into a running, supervised dnsmasq serving DHCP (full or proxy) and TFTP, and one
// stop(). start() fails fast with a one-line reason: no such interface, no IPv4 address on it, a range
// outside its subnet, missing iPXE binaries, a configuration dnsmasq rejects, or dnsmasq dying at startup.
//
// Files (all under DATA_DIR, rewritten at every start):
//   DATA_DIR/tftp/{undionly.kpxe,ipxe.efi,snponly.efi}   copied from Debian's ipxe package (/usr/lib/ipxe)
//   DATA_DIR/pxe/dnsmasq.conf                              render_dnsmasq_conf()
//   DATA_DIR/pxe/dhcp-event, DATA_DIR/pxe/token            the dhcp-script and the admin token it sends (0700/0600)
//   DATA_DIR/pxe/dnsmasq.leases                            dnsmasq's lease database
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "swarmboot/pxe/dnsmasq_supervisor.hpp"
#include "swarmboot/pxe/pxe_config.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::pxe {

// The first IPv4 address of interface `name` in this network namespace. Errors read
// "could not use --interface eth9: no such network interface (this machine has: lo, eth0)".
Result<InterfaceAddress> find_interface_ipv4(const std::string& name);

// Copies undionly.kpxe, ipxe.efi and snponly.efi from ipxe_dir into tftp_root (world-readable, since dnsmasq
// serves TFTP after dropping root), replacing older copies atomically.
Status prepare_tftp_root(const std::string& ipxe_dir, const std::string& tftp_root);

// dnsmasq drops root and serves TFTP as user nobody, so every folder above the TFTP root must be searchable
// by others; a 0700 folder (mktemp -d, a private home) makes every TFTP request fail with "file not found"
// at boot time, far from the cause. The first folder (from `dir` up to /) that blocks it, if any; the service
// warns about it at startup.
std::optional<std::filesystem::path> folder_hiding_from_others(const std::filesystem::path& dir);

struct PxeServiceOptions {
  DhcpMode mode = DhcpMode::off;
  std::string interface;
  std::string dhcp_range;             // full mode
  std::string data_dir;
  std::string listen_address;         // swarmbootd's HTTP listen address ("0.0.0.0" = all)
  std::uint16_t http_port = 0;        // the port actually bound
  std::string advertise_url;          // empty: http://<interface address>:<http_port>
  std::string api_token;              // empty: DHCP events are not reported
  std::string ipxe_dir = "/usr/lib/ipxe";
  std::vector<std::string> dnsmasq = {"dnsmasq"};
};

class PxeService {
 public:
  // `sink` receives lines from subsystems "pxe" and "dnsmasq".
  static Result<std::unique_ptr<PxeService>> start(const PxeServiceOptions& options, std::shared_ptr<LogSink> sink);
  void stop() { supervisor_->stop(); }
  const PxeConfig& config() const { return config_; }
  DnsmasqSupervisor& supervisor() { return *supervisor_; }

 private:
  PxeService(PxeConfig config, std::unique_ptr<DnsmasqSupervisor> supervisor)
      : config_(std::move(config)), supervisor_(std::move(supervisor)) {}
  PxeConfig config_;
  std::unique_ptr<DnsmasqSupervisor> supervisor_;
};

}  // namespace swarmboot::pxe
