// The sample image's report script (images/sample/sbin/swarmboot-report, also used by the Debian image) run
// with the real busybox against a one-shot HTTP listener on 127.0.0.1: it must POST the booted event with the
// host's bearer token and the agent's progress, to the URL built from the kernel command line.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "swarmboot/images/image_build.hpp"
#include "swarmcore/process.hpp"

using namespace swarmboot;
using namespace swarmboot::images;
namespace fs = std::filesystem;

namespace {

// Accepts one connection on 127.0.0.1 (ephemeral port), reads one request with its body, answers `status`.
class OneShotHttp {
 public:
  explicit OneShotHttp(int status) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    request_ = std::async(std::launch::async, [this] { return serve(); });
  }
  ~OneShotHttp() { ::close(fd_); }
  int port() const { return port_; }
  std::string request() { return request_.get(); }

 private:
  std::string serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return "";
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return "";
    std::string req;
    char buf[4096];
    for (;;) {
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 5000) != 1) break;
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
      const auto head_end = req.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const auto cl = req.find("Content-Length: ");
      const size_t body = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
      if (req.size() >= head_end + 4 + body) break;
    }
    const std::string answer = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    [[maybe_unused]] auto w = ::write(c, answer.data(), answer.size());
    ::close(c);
    return req;
  }
  int status_;
  int fd_ = -1;
  int port_ = 0;
  std::future<std::string> request_;
};

struct ScriptDir {
  fs::path dir;
  ScriptDir() {
    std::string p = (fs::temp_directory_path() / "swarmboot-report-test-XXXXXX").string();
    dir = ::mkdtemp(p.data());
    for (const auto& f : sample_template()) {
      if (f.path != "sbin/swarmboot-report") continue;
      std::ofstream(dir / "swarmboot-report") << f.content;
      fs::permissions(dir / "swarmboot-report", fs::perms(0755));
    }
  }
  ~ScriptDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string busybox_unavailable() { return fs::exists("/bin/busybox") ? "" : "no /bin/busybox (busybox-static)"; }

TEST(SampleReport, PostsBootedWithTokenAndProgress) {
  if (auto why = busybox_unavailable(); !why.empty()) GTEST_SKIP() << why;
  ScriptDir s;
  OneShotHttp http(200);
  const std::string server = "http://127.0.0.1:" + std::to_string(http.port());
  std::ofstream(s.dir / "cmdline") << "console=ttyS0 swarmboot.server=" << server
                                   << " swarmboot.mac=52:54:00:aa:bb:cc swarmboot.token=s3cret quiet\n";
  std::ofstream(s.dir / "status.json") << R"({"state":"downloading","image":"sample","pieces_have":3,"progress":0.25,"peers":1})";
  ProcessOptions po;
  po.extra_env = {{"SWARMBOOT_CMDLINE_FILE", (s.dir / "cmdline").string()},
                  {"SWARMBOOT_STATUS_FILE", (s.dir / "status.json").string()},
                  {"SWARMBOOT_REPORT_LABEL", "swarmboot sample image"}};
  po.timeout = std::chrono::seconds(60);
  auto r = run_process({"/bin/busybox", "sh", (s.dir / "swarmboot-report").string(), "sample image booted"}, po);
  ASSERT_TRUE(r.ok());
  const std::string req = http.request();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_NE(r->output.find("swarmboot sample image: booted, reported to " + server), std::string::npos) << r->output;
  EXPECT_TRUE(req.starts_with("POST /api/v1/hosts/52:54:00:aa:bb:cc/events HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("Authorization: Bearer s3cret\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find(R"({"state":"running","stage":"booted","message":"sample image booted","progress":0.25})"),
            std::string::npos)
      << req;
}

TEST(SampleReport, WithoutServerOnTheCommandLineSaysSoAndFails) {
  if (auto why = busybox_unavailable(); !why.empty()) GTEST_SKIP() << why;
  ScriptDir s;
  std::ofstream(s.dir / "cmdline") << "console=ttyS0 quiet\n";
  ProcessOptions po;
  po.extra_env = {{"SWARMBOOT_CMDLINE_FILE", (s.dir / "cmdline").string()},
                  {"SWARMBOOT_STATUS_FILE", (s.dir / "none.json").string()}};
  auto r = run_process({"/bin/busybox", "sh", (s.dir / "swarmboot-report").string()}, po);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->output.find("not reported"), std::string::npos) << r->output;
}

TEST(SampleReport, GivesUpAfterBoundedAttemptsWhenTheServerRefuses) {
  if (auto why = busybox_unavailable(); !why.empty()) GTEST_SKIP() << why;
  ScriptDir s;
  OneShotHttp http(403);
  std::ofstream(s.dir / "cmdline") << "swarmboot.server=http://127.0.0.1:" << http.port()
                                   << " swarmboot.mac=52:54:00:aa:bb:cc swarmboot.token=wrong\n";
  ProcessOptions po;
  po.extra_env = {{"SWARMBOOT_CMDLINE_FILE", (s.dir / "cmdline").string()},
                  {"SWARMBOOT_STATUS_FILE", (s.dir / "none.json").string()},
                  {"SWARMBOOT_REPORT_ATTEMPTS", "1"}};
  auto r = run_process({"/bin/busybox", "sh", (s.dir / "swarmboot-report").string()}, po);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(http.request().empty());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->output.find("could not report"), std::string::npos) << r->output;
}

}  // namespace
