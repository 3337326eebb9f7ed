// Input checks and root-daemon hygiene for `swarmboot-agent mount` (see preflight.hpp).
#include "preflight.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "boot_profile.hpp"
#include "swarmcore/http_client.hpp"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace swarmboot::agent {

namespace fs = std::filesystem;

namespace {

// A file's bytes, from a path or an http:// URL. `what` names it in the error.
Result<std::string> read_source(const std::string& path_or_url, const std::string& what) {
  if (path_or_url.rfind("http://", 0) == 0) {
    auto body = http_get(path_or_url, std::chrono::seconds(30));
    if (!body) return wrap("could not fetch the " + what + " " + path_or_url, body.error());
    return std::move(*body);
  }
  std::ifstream in(path_or_url, std::ios::binary);
  if (!in) return Error{"could not read the " + what + " " + path_or_url + ": " + std::strerror(errno)};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::vector<int>> load_boot_profile(const std::string& path_or_url, const ImageTorrent& torrent) {
  auto text = read_source(path_or_url, "boot profile");
  if (!text) return text.error();
  auto ranges = parse_boot_profile(*text, torrent.size);
  if (!ranges) return wrap("could not use the boot profile " + path_or_url, ranges.error());
  return profile_pieces(*ranges, PieceGeometry(torrent.size, torrent.piece_size));
}

Result<ImageTorrent> load_torrent(const std::string& path_or_url, const std::string& expected_info_hash) {
  auto bytes = read_source(path_or_url, "torrent");
  if (!bytes) return bytes.error();
  auto t = parse_image_torrent(*bytes);
  if (!t) return wrap("could not load the torrent " + path_or_url, t.error());
  if (!expected_info_hash.empty() && t->info_hash != expected_info_hash)
    return Error{"could not accept the torrent " + path_or_url + ": its info-hash is " + t->info_hash +
                 ", expected " + expected_info_hash};
  return t;
}

Status check_cache_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"could not create the cache directory " + dir + ": " + ec.message()};
  if (!fs::is_directory(dir)) return Error{"could not use the cache directory " + dir + ": not a directory"};
  const std::string probe = dir + "/.swarmboot-write-test";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"could not use the cache directory " + dir + ": not writable (" + std::strerror(errno) + ")"};
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

Status check_mountpoint(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0)
    return Error{"could not use the mountpoint " + dir + ": " + std::strerror(errno)};
  if (!S_ISDIR(st.st_mode)) return Error{"could not use the mountpoint " + dir + ": not a directory"};
  // Already a mount point (ours from an earlier run, or anything else): refuse rather than stack mounts.
  const std::string canonical = fs::weakly_canonical(dir).string();
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (mount_point == canonical) return Error{"could not use the mountpoint " + dir + ": something is mounted there"};
  }
  return {};
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"could not read the token file " + path + ": " + std::strerror(errno)};
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) return Error{"could not use the token file " + path + ": it is empty"};
  return token;
}

Status become_root_storage_daemon(const Logger& log) {
  // The kernel must not throttle us while we write back pages that the root filesystem's own writeback
  // depends on (we are the root's storage). Old kernels (< 5.6) lack it: EINVAL. Containers without
  // CAP_SYS_RESOURCE refuse it: EPERM. Both leave a working agent, so they are warnings, not failures.
  if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) {
    if (errno == EINVAL) {
      log.warn("PR_SET_IO_FLUSHER not supported by this kernel (needs 5.6); continuing without it");
    } else if (errno == EPERM) {
      log.warn("PR_SET_IO_FLUSHER refused (no CAP_SYS_RESOURCE here); continuing without it");
    } else {
      return Error{std::string("could not set PR_SET_IO_FLUSHER: ") + std::strerror(errno)};
    }
  }
  // The OOM killer must never pick the process that serves the root filesystem.
  {
    std::ofstream adj("/proc/self/oom_score_adj");
    adj << "-1000" << std::flush;
    if (!adj) log.warn("could not set oom_score_adj to -1000 (no CAP_SYS_RESOURCE here?); continuing");
  }
  // Nothing we run may have to be paged in from the filesystem we serve.
  if (mlockall(MCL_CURRENT | MCL_ONFAULT) != 0)
    return Error{std::string("could not mlockall: ") + std::strerror(errno)};
  return {};
}

}  // namespace swarmboot::agent
