// Runs the real swarmbootd binary on 127.0.0.1 with port 0 in a private temporary folder, for the
// integration tests. The destructor stops it (SIGTERM, then SIGKILL) and removes the folder.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "swarmcore/http_client.hpp"
#include "temp_dir.hpp"

namespace swarmboot::server::testing {

inline const std::string kAdminToken = "admin-token-0123456789abcdef";

class Daemon {
 public:
  // `data_dir` persists across restarts; extra flags are appended.
  Daemon(std::filesystem::path data_dir, std::filesystem::path boot_dir, std::vector<std::string> extra = {})
      : data_dir_(std::move(data_dir)), boot_dir_(std::move(boot_dir)), extra_(std::move(extra)) {}
  ~Daemon() { stop(); }

  // Starts and waits (bounded) until the port file appears and the server answers.
  bool start() {
    std::filesystem::remove(data_dir_ / "swarmbootd.port");
    log_ = data_dir_.parent_path() / ("swarmbootd-" + std::to_string(++starts_) + ".log");
    std::vector<std::string> args = {SWARMBOOTD_BINARY,
                                     "--data-dir",
                                     data_dir_.string(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--bt-listen",
                                     "127.0.0.1:0",
                                     "--boot-dir",
                                     boot_dir_.string(),
                                     "--dhcp-mode",
                                     "off",
                                     "--log-level",
                                     "debug"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("SWARMBOOT_API_TOKEN", kAdminToken.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string port = read_file(data_dir_ / "swarmbootd.port");
      if (!port.empty()) {
        url_ = "http://127.0.0.1:" + std::to_string(std::stoi(port));
        auto r = http_get(url_ + "/metrics", std::chrono::seconds(2));
        if (r.ok()) return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM and wait (bounded); returns the exit status (or -1 when it had to be killed).
  int stop() {
    if (pid_ <= 0) return last_exit_;
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return last_exit_ = -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    last_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return last_exit_;
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }

  const std::string& url() const { return url_; }
  std::string log() const { return read_file(log_); }

  // One request; `token` empty = no Authorization header.
  Result<HttpResponse> request(const std::string& method, const std::string& target,
                               const std::string& body = "", const std::string& token = "",
                               std::map<std::string, std::string> headers = {}) const {
    HttpRequest req;
    req.method = method;
    req.url = url_ + target;
    req.body = body;
    req.headers = std::move(headers);
    if (!token.empty()) req.headers["Authorization"] = "Bearer " + token;
    req.timeout = std::chrono::seconds(20);
    return http_request(req);
  }

 private:
  std::filesystem::path data_dir_;
  std::filesystem::path boot_dir_;
  std::vector<std::string> extra_;
  std::filesystem::path log_;
  int starts_ = 0;
  pid_t pid_ = -1;
  int last_exit_ = -1;
  std::string url_;
};

}  // namespace swarmboot::server::testing
