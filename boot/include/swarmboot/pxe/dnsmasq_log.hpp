// Reading dnsmasq's log output (pure): which level each line deserves in swarmbootd's log, and the warnings
// dnsmasq itself cannot give. dnsmasq with log-dhcp prefixes every detail line of a DHCP exchange with the
// transaction id (xid), and names the client's MAC only on the packet line ("1234 DHCPDISCOVER(eth0) mac"),
// its vendor class on another and the tags on a third; DnsmasqLogReader joins them by xid so that a machine
// whose architecture has no iPXE binary is reported with its MAC and vendor class, as a warning.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "swarmcore/log.hpp"

namespace swarmboot::pxe {

struct DnsmasqLogLine {
  LogLevel level = LogLevel::info;
  std::string text;
};

class DnsmasqLogReader {
 public:
  // One line of dnsmasq output (no newline) -> the lines to log (usually one; an extra warning for a client
  // tagged no-ipxe-binary).
  std::vector<DnsmasqLogLine> read(std::string_view line);

 private:
  struct Exchange {
    std::string xid;
    std::string mac;
    std::string vendor_class;
    bool warned = false;  // one warning per exchange, though dnsmasq logs tags for each packet of it
  };
  Exchange& exchange(const std::string& xid);
  std::deque<Exchange> recent_;  // the last few exchanges, newest at the back
};

}  // namespace swarmboot::pxe
