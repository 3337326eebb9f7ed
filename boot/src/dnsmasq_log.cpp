// Line classification for dnsmasq's output; see dnsmasq_log.hpp.
#include "swarmboot/pxe/dnsmasq_log.hpp"

#include <cctype>

namespace swarmboot::pxe {
namespace {

bool contains(std::string_view text, std::string_view word) { return text.find(word) != std::string_view::npos; }

// "dnsmasq-dhcp[42]: 1234 tags: a, b" -> "1234 tags: a, b"; lines without a "name: " prefix stay as they are.
std::string_view body_of(std::string_view line) {
  const size_t colon = line.find(": ");
  if (colon == std::string_view::npos || colon == 0 || line.substr(0, colon).find(' ') != std::string_view::npos) {
    return line;
  }
  return line.substr(colon + 2);
}

// The leading transaction id of a log-dhcp detail line, or empty.
std::string xid_of(std::string_view body) {
  size_t n = 0;
  while (n < body.size() && std::isdigit(static_cast<unsigned char>(body[n])) != 0) ++n;
  if (n == 0 || n >= body.size() || body[n] != ' ') return "";
  return std::string(body.substr(0, n));
}

bool looks_like_mac(std::string_view w) {
  if (w.size() != 17) return false;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i % 3 == 2 ? w[i] != ':' : std::isxdigit(static_cast<unsigned char>(w[i])) == 0) return false;
  }
  return true;
}

}  // namespace

DnsmasqLogReader::Exchange& DnsmasqLogReader::exchange(const std::string& xid) {
  for (auto& e : recent_) {
    if (e.xid == xid) return e;
  }
  if (recent_.size() >= 64) recent_.pop_front();
  recent_.push_back({xid, "", "", false});
  return recent_.back();
}

std::vector<DnsmasqLogLine> DnsmasqLogReader::read(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::vector<DnsmasqLogLine> out;
  if (line.empty()) return out;
  const std::string_view body = body_of(line);
  const std::string xid = xid_of(body);
  LogLevel level = LogLevel::info;
  if (contains(line, "failed") || contains(line, "error") || contains(line, "warning") ||
      contains(line, "cannot") || contains(line, "unknown interface") || contains(line, "no address range")) {
    level = LogLevel::warn;
  } else if (!xid.empty()) {
    // The per-exchange details of log-dhcp; the packet lines themselves (DHCPACK, PXE …) stay at info.
    const std::string_view rest = body.substr(xid.size() + 1);
    const bool packet_line = rest.rfind("DHCP", 0) == 0 || rest.rfind("PXE", 0) == 0 || rest.rfind("BOOTP", 0) == 0;
    if (!packet_line) level = LogLevel::debug;
  }
  out.push_back({level, std::string(line)});

  if (xid.empty()) return out;
  Exchange& e = exchange(xid);
  const std::string_view rest = body.substr(xid.size() + 1);
  if (rest.rfind("vendor class: ", 0) == 0) {
    e.vendor_class = std::string(rest.substr(14));
  } else if (rest.rfind("DHCP", 0) == 0 || rest.rfind("PXE", 0) == 0) {
    // "DHCPDISCOVER(eth0) 52:54:00:12:34:56" or "DHCPOFFER(eth0) 10.0.0.5 52:54:00:12:34:56"
    size_t pos = 0;
    while (pos < rest.size()) {
      size_t end = rest.find(' ', pos);
      if (end == std::string_view::npos) end = rest.size();
      if (looks_like_mac(rest.substr(pos, end - pos))) e.mac = std::string(rest.substr(pos, end - pos));
      pos = end + 1;
    }
  } else if (rest.rfind("tags: ", 0) == 0 && contains(rest, "no-ipxe-binary") && !e.warned) {
    e.warned = true;
    out.push_back({LogLevel::warn,
                   "machine " + (e.mac.empty() ? std::string("(MAC unknown)") : e.mac) +
                       " gets no boot file: swarmboot has no iPXE binary for its architecture (vendor class " +
                       (e.vendor_class.empty() ? std::string("unknown") : e.vendor_class) + ")"});
  }
  return out;
}

}  // namespace swarmboot::pxe
