// The I/O around the pure PXE configuration: interface lookup, the TFTP root, the files dnsmasq reads, and
// starting the supervisor. See pxe_service.hpp.
#include "swarmboot/pxe/pxe_service.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

namespace swarmboot::pxe {
namespace fs = std::filesystem;

Result<InterfaceAddress> find_interface_ipv4(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Error{"could not use --interface " + name + ": could not list interfaces"};
  std::set<std::string> names;
  std::optional<InterfaceAddress> found;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_name == nullptr) continue;
    names.insert(i->ifa_name);
    if (found || name != i->ifa_name || i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    const auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
    InterfaceAddress out;
    out.name = name;
    out.address = ntohl(a->sin_addr.s_addr);
    out.prefix_length = m == nullptr ? 32 : __builtin_popcount(ntohl(m->sin_addr.s_addr));
    found = out;
  }
  freeifaddrs(list);
  if (found) return *found;
  if (name.empty() || if_nametoindex(name.c_str()) == 0) {
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    return Error{"could not use --interface " + name + ": no such network interface (this machine has: " + have + ")"};
  }
  return Error{"could not use --interface " + name + ": it has no IPv4 address (DHCP and TFTP need one)"};
}

Status prepare_tftp_root(const std::string& ipxe_dir, const std::string& tftp_root) {
  std::error_code ec;
  fs::create_directories(tftp_root, ec);
  if (ec) return Error{"could not create the TFTP root " + tftp_root + ": " + ec.message()};
  fs::permissions(tftp_root, fs::perms(0755), ec);
  for (const char* file : {"undionly.kpxe", "ipxe.efi", "snponly.efi"}) {
    const fs::path from = fs::path(ipxe_dir) / file;
    if (!fs::is_regular_file(from)) {
      return Error{"could not prepare the TFTP root: " + from.string() + " is missing (install Debian's ipxe package)"};
    }
    const fs::path to = fs::path(tftp_root) / file;
    const fs::path tmp = to.string() + ".tmp";
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(tmp, fs::perms(0644), ec);
    if (!ec) fs::rename(tmp, to, ec);
    if (ec) return Error{"could not copy " + from.string() + " to " + to.string() + ": " + ec.message()};
  }
  return {};
}

std::optional<fs::path> folder_hiding_from_others(const fs::path& dir) {
  fs::path p = fs::absolute(dir);
  for (;;) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) return p;
    if (!p.has_relative_path()) return std::nullopt;
    p = p.parent_path();
  }
}

namespace {

Status write_file(const std::string& path, const std::string& text, fs::perms mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return Error{"could not write " + path};
  }
  std::error_code ec;
  fs::permissions(tmp, mode, ec);
  if (!ec) fs::rename(tmp, path, ec);
  if (ec) return Error{"could not write " + path + ": " + ec.message()};
  return {};
}

}  // namespace

Result<std::unique_ptr<PxeService>> PxeService::start(const PxeServiceOptions& o, std::shared_ptr<LogSink> sink) {
  Logger log(sink, "pxe");
  auto iface = find_interface_ipv4(o.interface);
  if (!iface) return iface.error();

  PxeSettings settings;
  settings.mode = o.mode;
  settings.interface = o.interface;
  settings.dhcp_range = o.dhcp_range;
  settings.server_url = o.advertise_url.empty()
                            ? "http://" + format_ipv4(iface->address) + ":" + std::to_string(o.http_port)
                            : o.advertise_url;
  // The dhcp-script runs on this machine: it reaches swarmbootd on loopback unless HTTP listens elsewhere only.
  const bool any = o.listen_address.empty() || o.listen_address == "0.0.0.0" || o.listen_address == "::" ||
                   o.listen_address == "[::]";
  settings.report_url = "http://" + (any ? std::string("127.0.0.1") : o.listen_address) + ":" +
                        std::to_string(o.http_port);
  settings.state_dir = o.data_dir + "/pxe";
  settings.tftp_root = o.data_dir + "/tftp";
  settings.report_events = !o.api_token.empty();
  auto config = make_pxe_config(settings, *iface);
  if (!config) return config.error();

  if (auto s = prepare_tftp_root(o.ipxe_dir, settings.tftp_root); !s) return s.error();
  if (auto hiding = folder_hiding_from_others(settings.tftp_root)) {
    log.warn("dnsmasq serves TFTP as user nobody, but {} is not searchable by others: machines will not get "
             "{}/undionly.kpxe (chmod o+x {}, or choose a --data-dir outside it)",
             hiding->string(), settings.tftp_root, hiding->string());
  }
  std::error_code ec;
  fs::create_directories(settings.state_dir, ec);
  if (ec) return Error{"could not create " + settings.state_dir + ": " + ec.message()};
  if (settings.report_events) {
    const std::string token_file = settings.state_dir + "/token";
    if (auto s = write_file(token_file, o.api_token + "\n", fs::perms(0600)); !s) return s.error();
    if (auto s = write_file(config->dhcp_script, render_dhcp_script(settings.report_url, token_file, config->lease_file),
                            fs::perms(0700));
        !s) {
      return s.error();
    }
  } else {
    log.warn("no admin token: DHCP leases are not reported to the event log");
  }
  const std::string conf_file = settings.state_dir + "/dnsmasq.conf";
  if (auto s = write_file(conf_file, render_dnsmasq_conf(*config), fs::perms(0644)); !s) return s.error();

  DnsmasqSupervisorOptions sup;
  sup.conf_file = conf_file;
  sup.command = o.dnsmasq;
  auto supervisor = DnsmasqSupervisor::start(sup, Logger(sink, "dnsmasq"));
  if (!supervisor) return supervisor.error();
  log.info("dnsmasq serving {} DHCP and TFTP on {} ({}), boot script {}/boot.ipxe", to_string(config->mode),
           config->interface, config->server_ip, config->server_url);
  return std::unique_ptr<PxeService>(new PxeService(std::move(*config), std::move(*supervisor)));
}

}  // namespace swarmboot::pxe
