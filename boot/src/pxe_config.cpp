// Validation of the PXE settings against the interface, and the dnsmasq.conf / dhcp-script renderers.
// Why each dnsmasq line is there is written next to it in the rendered text (the operator reads that file).
#include "swarmboot/pxe/pxe_config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace swarmboot::pxe {
namespace {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// dnsmasq lease times: "infinite", or a number with an optional s/m/h/d/w suffix, at least 2 minutes.
Status validate_lease(const std::string& lease) {
  if (lease == "infinite") return {};
  size_t digits = 0;
  while (digits < lease.size() && std::isdigit(static_cast<unsigned char>(lease[digits])) != 0) ++digits;
  const std::string suffix = lease.substr(digits);
  if (digits == 0 || digits > 9 || (suffix.size() > 1) ||
      (suffix.size() == 1 && std::string_view("smhdw").find(suffix[0]) == std::string_view::npos)) {
    return Error{"lease time '" + lease + "' is not a number with an optional s, m, h, d or w suffix"};
  }
  long seconds = std::stol(lease.substr(0, digits));
  const char unit = suffix.empty() ? 's' : suffix[0];
  const long scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 604800;
  if (seconds * scale < 120) return Error{"lease time '" + lease + "' is shorter than dnsmasq's minimum of 2m"};
  return {};
}

}  // namespace

std::string_view to_string(DhcpMode mode) {
  switch (mode) {
    case DhcpMode::off: return "off";
    case DhcpMode::full: return "full";
    case DhcpMode::proxy: return "proxy";
  }
  return "?";
}

std::uint32_t ipv4_mask(int prefix_length) {
  if (prefix_length <= 0) return 0;
  if (prefix_length >= 32) return ~std::uint32_t{0};
  return ~std::uint32_t{0} << (32 - prefix_length);
}

std::string format_ipv4(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

Result<std::uint32_t> parse_ipv4(std::string_view text) {
  const auto parts = split(text, '.');
  if (parts.size() != 4) return Error{"'" + std::string(text) + "' is not an IPv4 address"};
  std::uint32_t out = 0;
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 3) return Error{"'" + std::string(text) + "' is not an IPv4 address"};
    for (char c : p) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) return Error{"'" + std::string(text) + "' is not an IPv4 address"};
    }
    const int v = std::stoi(p);
    if (v > 255) return Error{"'" + std::string(text) + "' is not an IPv4 address"};
    out = (out << 8) | static_cast<std::uint32_t>(v);
  }
  return out;
}

Result<PxeConfig> make_pxe_config(const PxeSettings& s, const InterfaceAddress& iface) {
  if (s.mode == DhcpMode::off) return Error{"could not configure dnsmasq: --dhcp-mode is off"};
  if (iface.prefix_length < 1 || iface.prefix_length > 30) {
    return Error{fmt::format("could not use --interface {}: its address {}/{} leaves no room for DHCP clients",
                             iface.name, format_ipv4(iface.address), iface.prefix_length)};
  }
  const std::uint32_t mask = ipv4_mask(iface.prefix_length);
  PxeConfig c;
  c.mode = s.mode;
  c.interface = iface.name;
  c.server_ip = format_ipv4(iface.address);
  c.network = format_ipv4(iface.address & mask);
  c.netmask = format_ipv4(mask);
  c.lease_time = s.default_lease;
  c.server_url = s.server_url;
  while (!c.server_url.empty() && c.server_url.back() == '/') c.server_url.pop_back();
  if (c.server_url.rfind("http://", 0) != 0 || c.server_url.find_first_of(", \"'\n") != std::string::npos) {
    return Error{"could not use the boot URL '" + s.server_url + "': expected http://HOST:PORT"};
  }
  c.tftp_root = s.tftp_root;
  c.lease_file = s.state_dir + "/dnsmasq.leases";
  if (s.report_events) c.dhcp_script = s.state_dir + "/dhcp-event";

  if (s.mode == DhcpMode::full) {
    const auto parts = split(s.dhcp_range, ',');
    if (s.dhcp_range.empty() || parts.size() < 2 || parts.size() > 3) {
      return Error{"could not use --dhcp-range '" + s.dhcp_range + "': expected FIRST,LAST or FIRST,LAST,LEASE"};
    }
    auto first = parse_ipv4(parts[0]);
    auto last = parse_ipv4(parts[1]);
    if (!first) return wrap("could not use --dhcp-range '" + s.dhcp_range + "'", first.error());
    if (!last) return wrap("could not use --dhcp-range '" + s.dhcp_range + "'", last.error());
    if (*first > *last) return Error{"could not use --dhcp-range '" + s.dhcp_range + "': FIRST is after LAST"};
    if ((*first & mask) != (iface.address & mask) || (*last & mask) != (iface.address & mask)) {
      return Error{fmt::format("could not use --dhcp-range '{}': it is not inside {}/{} on interface {}", s.dhcp_range,
                               c.network, iface.prefix_length, iface.name)};
    }
    if (iface.address >= *first && iface.address <= *last) {
      return Error{fmt::format("could not use --dhcp-range '{}': it contains this server's address {}", s.dhcp_range,
                               c.server_ip)};
    }
    if (parts.size() == 3) c.lease_time = parts[2];
    c.range_first = format_ipv4(*first);
    c.range_last = format_ipv4(*last);
  }
  if (auto v = validate_lease(c.lease_time); !v) return wrap("could not use --dhcp-range", v.error());
  return c;
}

std::string render_dnsmasq_conf(const PxeConfig& c) {
  const bool proxy = c.mode == DhcpMode::proxy;
  std::string o;
  auto line = [&o](std::string_view text) {
    o += text;
    o += '\n';
  };
  line(fmt::format("# dnsmasq configuration written by swarmbootd for --dhcp-mode {} on {}; it is rewritten at every",
                   to_string(c.mode), c.interface));
  line("# start, so change swarmbootd's options instead of this file.");
  line("");
  line("# No DNS: swarmbootd needs only DHCP and TFTP, and must not take port 53 from a resolver on this machine.");
  line("port=0");
  line("# Serve the provisioning interface only, binding only its sockets, so other services here keep working.");
  line("interface=" + c.interface);
  line("bind-interfaces");
  line("# Log to stderr, which swarmbootd forwards as subsystem \"dnsmasq\"; log-dhcp adds each request's tags, so a");
  line("# machine that gets no boot file (tag no-ipxe-binary) is named in the log rather than ignored in silence.");
  line("log-facility=-");
  line("log-dhcp");
  line("");
  if (proxy) {
    line("# proxyDHCP: the site's DHCP server hands out addresses; dnsmasq answers only PXE clients (vendor class");
    line("# PXEClient, or HTTPClient for UEFI HTTP boot) with boot information, and never offers an address.");
    line(fmt::format("dhcp-range={},proxy,{}", c.network, c.netmask));
    line("dhcp-pxe-vendor=PXEClient,HTTPClient");
  } else {
    line("# Addresses for machines on the provisioning network. Leases outlive the longest image download (the");
    line("# initramfs renews anyway), and we are the only DHCP server here, so answer without waiting for others.");
    line(fmt::format("dhcp-range={},{},{},{}", c.range_first, c.range_last, c.netmask, c.lease_time));
    line("dhcp-authoritative");
  }
  line("dhcp-leasefile=" + c.lease_file);
  line("");
  line("# Who is asking. iPXE sends user class \"iPXE\" and its own option 175; firmware sends its architecture in");
  line("# option 93 (RFC 4578): 0 BIOS, 7 and 9 x86-64 UEFI, 16 x86-64 UEFI HTTP boot.");
  line("dhcp-userclass=set:ipxe,iPXE");
  line("dhcp-match=set:ipxe,175");
  line("dhcp-vendorclass=set:httpclient,HTTPClient");
  line("dhcp-match=set:pxe-arch,option:client-arch");
  line("dhcp-match=set:bios,option:client-arch,0");
  line("dhcp-match=set:efi-x86_64,option:client-arch,7");
  line("dhcp-match=set:efi-x86_64,option:client-arch,9");
  line("dhcp-match=set:efi-x86_64-http,option:client-arch,16");
  line("# Firmware of an architecture we have no iPXE binary for (e.g. arm64 = 11) gets no boot file; this tag");
  line("# shows up in the log-dhcp \"tags:\" line, which swarmbootd turns into a warning naming the machine.");
  line("tag-if=set:no-ipxe-binary,tag:pxe-arch,tag:!ipxe,tag:!bios,tag:!efi-x86_64,tag:!efi-x86_64-http");
  line("");
  line("# Boot files. iPXE (already running: from a NIC ROM or chainloaded by us) gets the boot script over HTTP,");
  line("# so it never downloads iPXE again (no chainload loop); firmware gets the iPXE build for its platform.");
  line("dhcp-boot=tag:ipxe," + c.server_url + "/boot.ipxe");
  line("dhcp-boot=tag:!ipxe,tag:httpclient,tag:efi-x86_64-http," + c.server_url + "/boot/ipxe.efi");
  line("# The TFTP server is named explicitly: proxyDHCP offers leave the next-server field empty otherwise.");
  line("dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe,swarmboot," + c.server_ip);
  line("dhcp-boot=tag:!ipxe,tag:efi-x86_64,ipxe.efi,swarmboot," + c.server_ip);
  line("# UEFI HTTP boot only accepts an offer that repeats its vendor class.");
  line("dhcp-option-force=tag:httpclient,option:vendor-class,HTTPClient");
  if (proxy) {
    line("");
    line("# proxyDHCP needs PXE menu entries: dnsmasq enables its PXE code (and port 4011) only with them. Each");
    line("# architecture has one entry, so BIOS boots it at once and UEFI gets the file directly (dnsmasq's");
    line("# single-entry UEFI workaround). A basename with a dot is sent as is, without the \".0\" layer suffix.");
    line("# iPXE gets its own single entry, the boot script URL: iPXE (e.g. a NIC's ROM) does not take a");
    line("# proxyDHCP offer's file name alone, but follows a PXE menu to our boot service (port 4011).");
    line("pxe-service=tag:!ipxe,x86PC,\"swarmboot BIOS\",undionly.kpxe");
    line("pxe-service=tag:!ipxe,BC_EFI,\"swarmboot UEFI\",ipxe.efi");
    line("pxe-service=tag:!ipxe,x86-64_EFI,\"swarmboot UEFI\",ipxe.efi");
    line("pxe-service=tag:ipxe,x86PC,\"swarmboot iPXE\"," + c.server_url + "/boot.ipxe");
    line("pxe-service=tag:ipxe,BC_EFI,\"swarmboot iPXE\"," + c.server_url + "/boot.ipxe");
    line("pxe-service=tag:ipxe,x86-64_EFI,\"swarmboot iPXE\"," + c.server_url + "/boot.ipxe");
  }
  line("");
  line("# TFTP for firmware that cannot speak HTTP: the iPXE binaries copied from Debian's ipxe package.");
  line("enable-tftp");
  line("tftp-root=" + c.tftp_root);
  if (!c.dhcp_script.empty()) {
    line("");
    line("# Tell swarmbootd about leases and finished TFTP transfers, so a machine shows up in its event log.");
    line("dhcp-script=" + c.dhcp_script);
  }
  return o;
}

std::string render_dhcp_script(const std::string& report_url, const std::string& token_file,
                               const std::string& lease_file) {
  return fmt::format(R"SH(#!/bin/sh
# dnsmasq's --dhcp-script, written by swarmbootd: reports lease changes and finished TFTP transfers to
# swarmbootd as host events (stage "dhcp"). Machines swarmbootd does not know yet are registered when they
# first ask for /boot.ipxe, so a 404 here is normal for a machine's very first DHCP exchange.
# dnsmasq runs this as root, one call at a time; keep it short and never block for long.
report_url='{}'
token_file='{}'
lease_file='{}'

action="$1"
case "$action" in
  add|old)
    mac="$2"
    message="lease $action $3 vendor-class ${{DNSMASQ_VENDOR_CLASS:-none}} user-class ${{DNSMASQ_USER_CLASS0:-none}} interface ${{DNSMASQ_INTERFACE:-?}}"
    ;;
  tftp)
    # arguments: tftp SIZE IP FILE; proxy mode has no leases, so the MAC may stay unknown.
    mac=$(awk -v ip="$3" '$3 == ip {{ print $2; exit }}' "$lease_file" 2>/dev/null)
    [ -n "$mac" ] || exit 0
    message="tftp sent ${{4##*/}} ($2 bytes) to $3"
    ;;
  *)
    exit 0
    ;;
esac
case "$mac" in
  ??:??:??:??:??:??) ;;
  *) exit 0 ;;
esac
# The message goes into JSON: keep printable characters other than quotes and backslashes.
message=$(printf '%s' "$message" | tr -d '"\\' | tr -c '[:print:]' ' ')
token=$(head -n 1 "$token_file" 2>/dev/null)
code=$(curl -s -m 5 -o /dev/null -w '%{{http_code}}' -X POST \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data "{{\"stage\":\"dhcp\",\"message\":\"$message\"}}" "$report_url/api/v1/hosts/$mac/events")
case "$code" in
  200) ;;
  404) echo "swarmboot: $mac is not registered yet ($action)" ;;
  *) echo "swarmboot: could not report $action for $mac to $report_url: HTTP $code" ;;
esac
exit 0
)SH",
                     report_url, token_file, lease_file);
}

}  // namespace swarmboot::pxe
