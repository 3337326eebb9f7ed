// pxe_dhcp_probe: sends one DHCPDISCOVER shaped like a PXE client's (vendor class PXEClient, option 93, and
// optionally user class iPXE) and prints every answer that arrives within the wait, one line each:
//   from=10.99.0.1 type=2 server_id=10.99.0.1 yiaddr=0.0.0.0 siaddr=10.99.0.1 file=undionly.kpxe vendor=PXEClient opt43=1
// Unlike udhcpc it shows all offers, so a test can see the site's DHCP server and our proxyDHCP side by side.
// Usage: pxe_dhcp_probe IFACE MAC ARCH [ipxe] [WAIT_MS]   (run inside the client's network namespace)
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::string ip_text(const unsigned char* p) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "pxe_dhcp_probe: could not %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: pxe_dhcp_probe IFACE MAC ARCH [ipxe] [WAIT_MS]\n");
    return 2;
  }
  const std::string iface = argv[1];
  unsigned mac[6];
  if (std::sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
    std::fprintf(stderr, "pxe_dhcp_probe: bad MAC %s\n", argv[2]);
    return 2;
  }
  const int arch = std::stoi(argv[3]);
  const bool ipxe = argc > 4 && std::string(argv[4]) == "ipxe";
  const int wait_ms = argc > 5 ? std::stoi(argv[5]) : 3000;

  std::vector<unsigned char> m(240, 0);
  m[0] = 1;  // BOOTREQUEST
  m[1] = 1;
  m[2] = 6;
  std::random_device rd;
  const std::uint32_t xid = rd();
  std::memcpy(&m[4], &xid, 4);
  m[10] = 0x80;  // broadcast flag: we have no address from this exchange
  for (int i = 0; i < 6; ++i) m[28 + i] = static_cast<unsigned char>(mac[i]);
  const unsigned char cookie[4] = {99, 130, 83, 99};
  std::memcpy(&m[236], cookie, 4);
  auto opt = [&m](int code, const std::string& data) {
    m.push_back(static_cast<unsigned char>(code));
    m.push_back(static_cast<unsigned char>(data.size()));
    m.insert(m.end(), data.begin(), data.end());
  };
  opt(53, std::string(1, '\x01'));
  char vendor[64];
  std::snprintf(vendor, sizeof vendor, "PXEClient:Arch:%05d:UNDI:002001", arch);
  opt(60, vendor);
  opt(93, std::string{static_cast<char>(arch >> 8), static_cast<char>(arch & 0xff)});
  opt(94, std::string{1, 2, 1});
  opt(97, std::string(17, '\x01'));
  if (ipxe) opt(77, "iPXE");
  opt(55, std::string{1, 3, 43, 60, 66, 67, 97});
  m.push_back(255);

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("open a socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.c_str(), static_cast<socklen_t>(iface.size())) != 0) {
    return fail("bind to " + iface);
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(68);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return fail("bind port 68");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(67);
  to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
  if (sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return fail("send");

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    unsigned char r[1500];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    const ssize_t n = recvfrom(fd, r, sizeof r, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 240 || r[0] != 2 || std::memcmp(&r[4], &xid, 4) != 0) continue;
    int type = 0;
    std::string server_id, vendor_class, option_file;
    bool opt43 = false;
    for (ssize_t i = 240; i + 1 < n && r[i] != 255;) {
      if (r[i] == 0) {
        ++i;
        continue;
      }
      const int code = r[i], len = r[i + 1];
      if (i + 2 + len > n) break;
      const unsigned char* d = &r[i + 2];
      if (code == 53 && len == 1) type = d[0];
      if (code == 54 && len == 4) server_id = ip_text(d);
      if (code == 60) vendor_class.assign(reinterpret_cast<const char*>(d), static_cast<size_t>(len));
      if (code == 43) opt43 = true;
      if (code == 67) option_file.assign(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), static_cast<size_t>(len)));
      i += 2 + len;
    }
    // The boot file travels in option 67 when the client asked for it, else in the header's file field.
    std::string file(reinterpret_cast<const char*>(&r[108]), strnlen(reinterpret_cast<const char*>(&r[108]), 128));
    if (!option_file.empty()) file = option_file;
    std::printf("from=%s type=%d server_id=%s yiaddr=%s siaddr=%s file=%s vendor=%s opt43=%d\n",
                ip_text(reinterpret_cast<unsigned char*>(&from.sin_addr)).c_str(), type, server_id.c_str(),
                ip_text(&r[16]).c_str(), ip_text(&r[20]).c_str(), file.c_str(), vendor_class.c_str(), opt43 ? 1 : 0);
    std::fflush(stdout);
  }
  close(fd);
  return 0;
}
