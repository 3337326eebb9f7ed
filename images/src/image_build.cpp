// Image builds: stage a root tree, run mksquashfs into a temporary file next to the output, rename it into
// place. The temporary file is created first (O_EXCL), which is also the honest test of "can I write there".
#include "swarmboot/images/image_build.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "swarmcore/process.hpp"

namespace swarmboot::images {
namespace fs = std::filesystem;

namespace {

// A folder removed with everything in it when it goes out of scope.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const fs::path& parent, const std::string& stem) {
    std::string pattern = (parent / (stem + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return Error{"could not create a scratch folder in " + parent.string() + ": " + std::strerror(errno)};
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// The temporary output file: created up front, removed unless committed.
class PendingFile {
 public:
  static Result<PendingFile> create(const fs::path& out) {
    if (auto s = check_output_path(out); !s) return s.error();
    fs::path tmp = temp_path_for(out);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Error{"could not write " + out.string() + ": " + std::strerror(errno)};
    ::close(fd);
    return PendingFile(std::move(tmp), out);
  }
  PendingFile(PendingFile&& other) noexcept
      : tmp_(std::exchange(other.tmp_, {})), out_(std::move(other.out_)) {}
  PendingFile& operator=(PendingFile&&) = delete;
  ~PendingFile() {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove(tmp_, ec);
  }
  const fs::path& path() const { return tmp_; }
  Status commit() {
    std::error_code ec;
    fs::rename(tmp_, out_, ec);
    if (ec) return Error{"could not write " + out_.string() + ": " + ec.message()};
    tmp_.clear();
    return {};
  }

 private:
  PendingFile(fs::path tmp, fs::path out) : tmp_(std::move(tmp)), out_(std::move(out)) {}
  fs::path tmp_;
  fs::path out_;
};

Status write_file(const fs::path& path, const std::string& content, unsigned mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::remove(path, ec);  // may be a busybox applet link the template replaces
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  f.close();
  if (!f) return Error{"could not write " + path.string()};
  fs::permissions(path, static_cast<fs::perms>(mode), ec);
  if (ec) return Error{"could not set the mode of " + path.string() + ": " + ec.message()};
  return {};
}

Status install_template(const std::vector<TemplateFile>& files, const fs::path& root) {
  for (const auto& f : files) {
    if (auto s = write_file(root / f.path, f.content, template_file_mode(f)); !s) return s;
  }
  return {};
}

Status run_squashfs(const fs::path& dir, const fs::path& out, const std::vector<std::string>& extra,
                    const Logger& log) {
  auto pending = PendingFile::create(out);
  if (!pending) return pending.error();
  auto argv = mksquashfs_argv(dir, pending->path());
  argv.insert(argv.end(), extra.begin(), extra.end());
  log.info("{}", describe_command(argv));
  ProcessOptions po;
  po.timeout = std::chrono::minutes(30);
  if (auto r = run_checked(argv, po); !r) return wrap("could not build " + out.string(), r.error());
  return pending->commit();
}

}  // namespace

unsigned template_file_mode(const TemplateFile& file) { return file.content.starts_with("#!") ? 0755 : 0644; }

std::vector<std::string> mksquashfs_argv(const fs::path& dir, const fs::path& out) {
  return {"mksquashfs", dir.string(), out.string(), "-noappend", "-comp", "zstd", "-all-root",
          "-mkfs-time", "0", "-all-time", "0", "-no-progress"};
}

fs::path temp_path_for(const fs::path& out) {
  fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  return dir / ("." + out.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

Status check_output_path(const fs::path& out) {
  if (out.empty() || out.filename().empty()) return Error{"could not write '" + out.string() + "': not a file name"};
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{"could not write " + out.string() + ": no folder " + dir.string()};
  if (fs::is_directory(out, ec)) return Error{"could not write " + out.string() + ": it is a folder"};
  if (::access(dir.c_str(), W_OK) != 0)
    return Error{"could not write " + out.string() + ": " + std::strerror(errno)};
  return {};
}

Status build_from_dir(const fs::path& dir, const fs::path& out, const Logger& log) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error{"could not build an image from " + dir.string() + ": no such folder"};
  return run_squashfs(dir, out, {}, log);
}

Status stage_sample_tree(const fs::path& root, const fs::path& busybox) {
  std::error_code ec;
  fs::permissions(root, static_cast<fs::perms>(0755), ec);  // mkdtemp made it 0700; it becomes the image's /
  for (const char* d : {"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "tmp", "root", "etc",
                        "var/log", "mnt"}) {
    fs::create_directories(root / d, ec);
    if (ec) return Error{"could not create " + (root / d).string() + ": " + ec.message()};
  }
  fs::permissions(root / "tmp", static_cast<fs::perms>(01777), ec);
  fs::copy_file(busybox, root / "bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{"could not copy " + busybox.string() + " (install busybox-static): " + ec.message()};
  fs::permissions(root / "bin/busybox", static_cast<fs::perms>(0755), ec);
  auto list = run_checked({(root / "bin/busybox").string(), "--list-full"});
  if (!list) return wrap("could not list busybox applets", list.error());
  std::istringstream lines(*list);
  for (std::string applet; std::getline(lines, applet);) {
    if (applet.empty() || applet == "bin/busybox") continue;
    const fs::path link = root / applet;
    if (fs::exists(fs::symlink_status(link, ec))) continue;
    fs::create_symlink("/bin/busybox", link, ec);
    if (ec) return Error{"could not link " + link.string() + ": " + ec.message()};
  }
  return install_template(sample_template(), root);
}

Status build_sample(const fs::path& out, const Logger& log, const fs::path& busybox) {
  if (auto s = check_output_path(out); !s) return s;
  auto scratch = ScratchDir::create(fs::temp_directory_path(), "swarmboot-sample");
  if (!scratch) return scratch.error();
  if (auto s = stage_sample_tree(scratch->path(), busybox); !s) return wrap("could not build the sample image", s.error());
  // The console node exists before devtmpfs is mounted, so early messages of /sbin/init have somewhere to go.
  return run_squashfs(scratch->path(), out, {"-p", "dev/console c 0600 0 0 5 1"}, log);
}

std::optional<std::string> mirror_from_apt_sources(std::string_view text) {
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    std::string url;
    if (first == "URIs:" || first == "deb") {
      while (words >> url && url.starts_with("[")) {
        while (!url.ends_with("]") && words >> url) {
        }
      }
    }
    if (url.empty() || url.find("security") != std::string::npos) continue;
    if (url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file:/")) {
      while (url.ends_with("/")) url.pop_back();
      return url;
    }
  }
  return std::nullopt;
}

fs::path default_cache_dir(const char* swarmboot_cache, const char* xdg_cache_home, const char* home) {
  if (swarmboot_cache && *swarmboot_cache) return swarmboot_cache;
  if (xdg_cache_home && *xdg_cache_home) return fs::path(xdg_cache_home) / "swarmboot";
  if (home && *home) return fs::path(home) / ".cache/swarmboot";
  return fs::temp_directory_path() / "swarmboot-cache";
}

std::vector<std::string> debootstrap_argv(const std::string& suite, const fs::path& target, const std::string& mirror) {
  return {"debootstrap", "--variant=minbase", "--include=systemd-sysv,udev,wget,iproute2,procps",
          "--merged-usr", suite, target.string(), mirror};
}

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// debootstrap into cache_dir/debootstrap-SUITE unless a complete tree is there already.
Result<fs::path> debootstrap_cached(const DebianBuild& build, const std::string& mirror, const Logger& log) {
  const fs::path tree = build.cache_dir / ("debootstrap-" + build.suite);
  const fs::path marker = build.cache_dir / ("debootstrap-" + build.suite + ".complete");
  std::error_code ec;
  if (fs::exists(marker, ec) && fs::is_directory(tree, ec)) {
    log.info("using the cached debootstrap tree {}", tree.string());
    return tree;
  }
  if (::geteuid() != 0) return Error{"could not run debootstrap: it needs root"};
  fs::create_directories(build.cache_dir, ec);
  if (ec) return Error{"could not create " + build.cache_dir.string() + ": " + ec.message()};
  const fs::path partial = build.cache_dir / ("debootstrap-" + build.suite + ".partial");
  fs::remove_all(partial, ec);
  fs::remove_all(tree, ec);
  const auto argv = debootstrap_argv(build.suite, partial, mirror);
  log.info("{} (a few minutes; cached for the next build)", describe_command(argv));
  ProcessOptions po;
  po.timeout = std::chrono::minutes(60);
  if (auto r = run_checked(argv, po); !r) {
    fs::remove_all(partial, ec);
    return wrap("could not debootstrap " + build.suite, r.error());
  }
  // A diskless root logs in on the console without a password; the apt caches only make the image larger.
  if (auto r = run_checked({"chroot", partial.string(), "passwd", "-d", "root"}); !r) return r.error();
  fs::remove_all(partial / "var/cache/apt/archives", ec);
  fs::create_directories(partial / "var/cache/apt/archives/partial", ec);
  fs::remove_all(partial / "var/lib/apt/lists", ec);
  fs::create_directories(partial / "var/lib/apt/lists/partial", ec);
  fs::rename(partial, tree, ec);
  if (ec) return Error{"could not keep the debootstrap tree: " + ec.message()};
  std::ofstream(marker) << mirror << "\n";
  return tree;
}

}  // namespace

Status build_debian(const DebianBuild& build, const fs::path& out, const Logger& log) {
  if (auto s = check_output_path(out); !s) return s;
  std::string mirror = build.mirror;
  if (mirror.empty()) {
    for (const char* src : {"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"}) {
      if (auto m = mirror_from_apt_sources(read_text(src))) {
        mirror = *m;
        break;
      }
    }
  }
  if (mirror.empty()) mirror = "http://deb.debian.org/debian";
  // Two builds sharing the cache (say, the demo and a user) take turns: the lock is held until the image is
  // written, so nobody debootstraps over a tree another build is reading.
  std::error_code ec;
  fs::create_directories(build.cache_dir, ec);
  const fs::path lock_path = build.cache_dir / ("debootstrap-" + build.suite + ".lock");
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return Error{"could not open " + lock_path.string() + ": " + std::strerror(errno)};
  struct LockGuard {
    int fd;
    ~LockGuard() { ::close(fd); }
  } guard{lock};
  if (::flock(lock, LOCK_EX) != 0) return Error{"could not lock " + lock_path.string() + ": " + std::strerror(errno)};
  auto tree = debootstrap_cached(build, mirror, log);
  if (!tree) return wrap("could not build the Debian image", tree.error());
  // Our additions are deterministic, so writing them over the cached tree each time is harmless.
  for (const auto& f : sample_template()) {
    if (f.path == "sbin/swarmboot-report") {
      if (auto s = write_file(*tree / "usr/local/sbin/swarmboot-report", f.content, 0755); !s) return s;
    }
  }
  for (const auto& f : debian_template()) {
    if (auto s = write_file(*tree / "etc/systemd/system" / f.path, f.content, template_file_mode(f)); !s) return s;
    const fs::path wants = *tree / "etc/systemd/system/multi-user.target.wants" / f.path;
    fs::create_directories(wants.parent_path(), ec);
    fs::remove(wants, ec);
    fs::create_symlink("/etc/systemd/system/" + f.path, wants, ec);
    if (ec) return Error{"could not enable " + f.path + ": " + ec.message()};
  }
  if (auto s = write_file(*tree / "etc/hostname", "swarmboot-debian\n", 0644); !s) return s;
  if (auto s = write_file(*tree / "etc/fstab", "# diskless: the initramfs mounts the root\n", 0644); !s) return s;
  return run_squashfs(*tree, out, {}, log);
}

}  // namespace swarmboot::images
