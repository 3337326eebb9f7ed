// What dnsmasq is told to do, as pure functions: the validated PXE settings (mode, interface address, range,
// lease time, URLs, paths) go in, the complete dnsmasq.conf text and the dhcp-script text come out. Nothing
// here touches the network or the disk, so every decision is covered by table and golden tests
// (tests/pxe/golden/*.conf).
//
// Which boot file a machine gets (decided by dnsmasq from these lines, per DHCP request):
//   iPXE (user class "iPXE" or option 175 present)   -> http://SERVER:PORT/boot.ipxe (no chainload loop)
//   UEFI HTTP boot (vendor class "HTTPClient")        -> http://SERVER:PORT/boot/ipxe.efi, option 60 echoed
//   BIOS PXE (option 93 = 0)                          -> undionly.kpxe over TFTP
//   x86-64 UEFI PXE (option 93 = 7 or 9)              -> ipxe.efi over TFTP
//   any other option 93 (arm64 = 11, ...)             -> nothing, tagged "no-ipxe-binary" so that the log says so
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "swarmcore/result.hpp"

namespace swarmboot::pxe {

// full: dnsmasq hands out addresses from a range on the interface. proxy: the site's DHCP server hands out
// addresses and dnsmasq adds only the PXE boot information (proxyDHCP, RFC 4578 / PXE spec). off: no dnsmasq.
enum class DhcpMode { off, full, proxy };
std::string_view to_string(DhcpMode mode);

// An IPv4 address on an interface, as found by find_interface_ipv4().
struct InterfaceAddress {
  std::string name;
  std::uint32_t address = 0;  // host byte order
  int prefix_length = 0;
};

// What the operator chose (swarmbootd's flags), before it is checked against the interface.
struct PxeSettings {
  DhcpMode mode = DhcpMode::off;
  std::string interface;
  std::string dhcp_range;           // full mode: "FIRST,LAST" or "FIRST,LAST,LEASE" (LEASE like 12h, 2d, 3600)
  std::string default_lease = "24h";  // long enough to outlive the longest image download
  std::string server_url;           // how machines reach swarmbootd over HTTP, e.g. "http://10.99.0.1:8080"
  std::string report_url;           // how the dhcp-script reaches swarmbootd, e.g. "http://127.0.0.1:8080"
  std::string state_dir;            // DATA_DIR/pxe: dnsmasq.conf, leases, dhcp-script, token
  std::string tftp_root;            // DATA_DIR/tftp
  bool report_events = false;       // an admin token exists, so the dhcp-script can post events
};

// Everything the renderer needs, validated: addresses in dotted form, the range inside the interface's subnet.
struct PxeConfig {
  DhcpMode mode = DhcpMode::full;
  std::string interface;
  std::string server_ip;       // the interface's address: TFTP server and proxyDHCP server id
  std::string network;         // e.g. 10.99.0.0 (proxy mode's dhcp-range)
  std::string netmask;         // e.g. 255.255.0.0
  std::string range_first;     // full mode only
  std::string range_last;
  std::string lease_time;      // dnsmasq syntax: 12h, 1d, 3600
  std::string server_url;      // no trailing slash
  std::string tftp_root;
  std::string lease_file;
  std::string dhcp_script;     // empty: no dhcp-script
};

std::string format_ipv4(std::uint32_t address);  // host byte order -> "10.99.0.1"
Result<std::uint32_t> parse_ipv4(std::string_view text);
std::uint32_t ipv4_mask(int prefix_length);  // 16 -> 0xffff0000 (host byte order); clamped to 0..32

// Checks the settings against the interface's address; errors name the flag ("could not use --dhcp-range …").
// The mode must not be off.
Result<PxeConfig> make_pxe_config(const PxeSettings& settings, const InterfaceAddress& iface);

// The dnsmasq.conf for `config`: options spelled exactly like dnsmasq's long flags, each with a comment on why.
std::string render_dnsmasq_conf(const PxeConfig& config);

// The POSIX shell script dnsmasq runs on lease changes and finished TFTP transfers (--dhcp-script): it posts
// {"stage":"dhcp","message":"…"} to report_url/api/v1/hosts/MAC/events with the admin token read from
// token_file. lease_file maps a TFTP client's IP back to its MAC (full mode; proxy mode keeps no leases).
std::string render_dhcp_script(const std::string& report_url, const std::string& token_file,
                               const std::string& lease_file);

}  // namespace swarmboot::pxe
