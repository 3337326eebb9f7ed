// Image builds: stage a root tree, run mksquashfs into a temporary file next to the output, rename it into
// place. The temporary file is created first (O_EXCL), which is also the honest test of "can I write there".
#include "swarmboot/images/image_build.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

// --- Bootable BIOS disk images -------------------------------------------------------------------------------

bool natural_less(std::string_view a, std::string_view b) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string_view x = a.substr(i, ie - i), y = b.substr(j, je - j);
      while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);
      while (y.size() > 1 && y[0] == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::optional<fs::path> newest_kernel(const fs::path& boot_dir) {
  std::optional<fs::path> best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(boot_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("vmlinuz-")) continue;
    if (!best || natural_less(best->filename().string(), name)) best = e.path();
  }
  return best;
}

Result<std::string> kernel_version_of(const fs::path& kernel) {
  const std::string name = kernel.filename().string();
  if (!name.starts_with("vmlinuz-") || name.size() == 8)
    return Error{"could not tell the version of the kernel " + kernel.string() +
                 ": its name is not vmlinuz-VERSION (the version picks the modules)"};
  return name.substr(8);
}

std::string syslinux_cfg() {
  // SERIAL mirrors syslinux's own messages to ttyS0 (where tests and headless machines look); no prompt and no
  // timeout: a provisioned machine boots its one entry at once.
  return std::string("SERIAL 0 115200\n"
                     "DEFAULT swarmboot\n"
                     "PROMPT 0\n"
                     "TIMEOUT 0\n"
                     "LABEL swarmboot\n"
                     "  LINUX /vmlinuz\n"
                     "  INITRD /initrd.img\n"
                     "  APPEND ") +
         kDiskKernelCommandLine + "\n";
}

namespace {
std::uint64_t round_up(std::uint64_t n, std::uint64_t unit) { return (n + unit - 1) / unit * unit; }
}  // namespace

std::uint64_t fat_size_for(std::uint64_t content_bytes) {
  // FAT16 with small clusters wastes little; 1/16 extra plus 1 MiB covers the tables, the directories and the
  // last cluster of each file. At least 8 MiB, so that FAT16 has the clusters it needs.
  return std::max<std::uint64_t>(8 * kMiB, round_up(content_bytes + content_bytes / 16 + kMiB, kMiB));
}

std::uint64_t default_disk_size(std::uint64_t fat_bytes) { return kDiskPartitionOffset + fat_bytes + kMiB; }

Result<std::uint64_t> disk_size_for(std::uint64_t fat_bytes, std::optional<std::uint64_t> requested) {
  if (!requested) return default_disk_size(fat_bytes);
  const std::uint64_t needed = kDiskPartitionOffset + fat_bytes;
  if (*requested % 512 != 0)
    return Error{"could not size the disk: --disk-size " + std::to_string(*requested) +
                 " is not a multiple of 512 bytes"};
  if (*requested < needed)
    return Error{"could not size the disk: --disk-size " + std::to_string(*requested) + " bytes is smaller than the " +
                 std::to_string(needed) + " bytes (" + std::to_string((needed + kMiB - 1) / kMiB) +
                 " MiB) the boot partition needs"};
  return *requested;
}

unsigned fat_sectors_per_cluster(std::uint64_t fat_bytes) {
  const std::uint64_t sectors = fat_bytes / 512;
  unsigned per_cluster = 1;
  while (sectors / per_cluster > 65000 && per_cluster < 128) per_cluster *= 2;
  return per_cluster;
}

std::vector<std::string> mkfs_fat_argv(const fs::path& fat, std::uint64_t fat_bytes) {
  // --invariant before -i: it resets the volume id, so a later -i is the one that counts. -h: the partition
  // starts 2048 sectors into the disk, which the boot sector records as hidden sectors.
  return {"mkfs.fat",  "-C", "--invariant", "-i", kDiskVolumeId, "-F", "16",
          "-s",        std::to_string(fat_sectors_per_cluster(fat_bytes)),
          "-n",        "SWARMBOOT", "-h", std::to_string(kDiskPartitionOffset / 512), "--mbr=n",
          fat.string(), std::to_string(fat_bytes / 1024)};
}

std::vector<std::string> mcopy_argv(const fs::path& fat, const std::vector<fs::path>& files) {
  std::vector<std::string> argv{"mcopy", "-i", fat.string()};
  for (const auto& f : files) argv.push_back(f.string());
  argv.push_back("::/");
  return argv;
}

std::vector<std::string> syslinux_argv(const fs::path& fat) { return {"syslinux", "--install", fat.string()}; }

std::map<std::string, std::string> fat_tools_env() {
  // 315532800 is 1980-01-01T00:00:00Z, the first moment FAT can record. MTOOLS_SKIP_CHECK: the image file has
  // no partition table of its own and is not "a disk" to mtools' sanity checks.
  return {{"SOURCE_DATE_EPOCH", "315532800"}, {"TZ", "UTC"}, {"MTOOLS_SKIP_CHECK", "1"}};
}

std::vector<std::string> sfdisk_argv(const fs::path& disk) {
  return {"sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", disk.string()};
}

std::string sfdisk_script(std::uint64_t fat_bytes) {
  return std::string("label: dos\nlabel-id: 0x") + kDiskVolumeId + "\nunit: sectors\n\nstart=" +
         std::to_string(kDiskPartitionOffset / 512) + ", size=" + std::to_string(fat_bytes / 512) +
         ", type=e, bootable\n";
}

std::vector<std::string> modprobe_depends_argv(const std::string& kernel_version,
                                               const std::vector<std::string>& modules) {
  std::vector<std::string> argv{"modprobe", "-S", kernel_version, "--show-depends", "-a"};
  argv.insert(argv.end(), modules.begin(), modules.end());
  return argv;
}

std::vector<std::string> parse_insmod_lines(std::string_view output) {
  std::vector<std::string> out;
  std::istringstream in{std::string(output)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string verb, path;
    if (!(words >> verb >> path) || verb != "insmod") continue;
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

std::vector<std::string> cpio_argv(const fs::path& out) {
  return {"cpio", "--quiet", "--reproducible", "-o", "-0", "-H", "newc", "-R", "0:0", "-O", out.string()};
}

std::vector<std::string> zstd_argv(const fs::path& in, const fs::path& out) {
  // Single-threaded so the output does not depend on the machine; level 9 as for initramfs.img: seconds,
  // where -19 takes most of a minute on a busy 2-core machine for a few percent less.
  return {"zstd", "-q", "-9", "-T1", "-f", in.string(), "-o", out.string()};
}

namespace {

constexpr const char* kDiskToolsHint = " (needs syslinux, mtools, dosfstools, fdisk, cpio, zstd: scripts/deps.sh)";

Status run_tool(const std::vector<std::string>& argv, const Logger& log, const std::string& what,
                ProcessOptions po = {}) {
  log.info("{}", describe_command(argv));
  if (auto r = run_checked(argv, po); !r) return wrap("could not " + what, Error{r.error().message + kDiskToolsHint});
  return {};
}

// Copies the network modules and their dependencies under root/lib/modules/VERSION, decompressed (busybox
// insmod reads plain .ko files), and lists them in root/lib/modules/load-order, dependencies first.
Status add_modules(const fs::path& root, const std::string& kver, const std::vector<std::string>& modules,
                   const Logger& log) {
  if (modules.empty()) return {};
  const auto argv = modprobe_depends_argv(kver, modules);
  log.info("{}", describe_command(argv));
  auto listed = run_checked(argv);
  if (!listed) return wrap("could not list the kernel modules for " + kver, listed.error());
  std::error_code ec;
  const fs::path modules_dir = root / "lib/modules";
  fs::create_directories(modules_dir, ec);
  // A root whose /lib is an absolute symlink would send the modules to the build machine's own /lib.
  const auto canonical_root = fs::weakly_canonical(root, ec);
  const auto canonical_modules = fs::weakly_canonical(modules_dir, ec);
  if (ec || !canonical_modules.string().starts_with(canonical_root.string() + "/"))
    return Error{"could not add kernel modules: " + modules_dir.string() + " resolves outside the root folder"};
  std::string order;
  for (std::string ko : parse_insmod_lines(*listed)) {
    const std::string prefix = "/lib/modules/";
    const auto at = ko.find(prefix);
    if (at == std::string::npos) return Error{"could not add kernel module " + ko + ": not under /lib/modules"};
    std::string rel = ko.substr(at + prefix.size());
    std::vector<std::string> decompress;
    if (rel.ends_with(".xz")) {
      rel.resize(rel.size() - 3);
      decompress = {"xz", "-dc", ko};
    } else if (rel.ends_with(".zst")) {
      rel.resize(rel.size() - 4);
      decompress = {"zstd", "-qdc", ko};
    }
    const fs::path dest = canonical_modules / rel;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Error{"could not create " + dest.parent_path().string() + ": " + ec.message()};
    if (decompress.empty()) {
      fs::copy_file(ko, dest, fs::copy_options::overwrite_existing, ec);
      if (ec) return Error{"could not copy kernel module " + ko + ": " + ec.message()};
    } else {
      auto plain = run_checked(decompress);
      if (!plain) return wrap("could not decompress kernel module " + ko, plain.error());
      if (auto s = write_file(dest, *plain, 0644); !s) return s;
    }
    order += "/lib/modules/" + rel + "\n";
  }
  return write_file(modules_dir / "load-order", order, 0644);
}

// Every name under root, relative, in byte order (a folder before what it holds), NUL-separated for cpio -0;
// every mtime set to 0 on the way.
Result<std::string> reproducible_listing(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  const timespec zero[2] = {{0, 0}, {0, 0}};
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (::utimensat(AT_FDCWD, it->path().c_str(), zero, AT_SYMLINK_NOFOLLOW) != 0)
      return Error{"could not reset the time of " + it->path().string() + ": " + std::strerror(errno)};
    names.push_back(it->path().lexically_relative(root).string());  // not fs::relative: it follows links
  }
  if (ec) return Error{"could not list " + root.string() + ": " + ec.message()};
  std::sort(names.begin(), names.end());
  std::string list;
  for (const auto& n : names) list += n + '\0';
  return list;
}

Status write_at(int fd, const std::string& bytes, off_t offset, const fs::path& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{"could not write " + what.string() + ": " + std::strerror(errno)};
    done += static_cast<size_t>(n);
  }
  return {};
}

// Puts the MBR boot code and the FAT partition into the (already partitioned) disk file.
Status place_into_disk(const fs::path& disk, const fs::path& mbr, const fs::path& fat) {
  const std::string boot_code = read_text(mbr);
  if (boot_code.size() < 440) return Error{"could not read syslinux's MBR " + mbr.string() + " (install syslinux)"};
  const int fd = ::open(disk.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error{"could not open " + disk.string() + ": " + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // Only the first 440 bytes: the disk id and the partition table after them are sfdisk's.
  if (auto s = write_at(fd, boot_code.substr(0, 440), 0, disk); !s) return s;
  std::ifstream in(fat, std::ios::binary);
  if (!in) return Error{"could not read " + fat.string()};
  std::string chunk(4 * kMiB, '\0');
  off_t offset = static_cast<off_t>(kDiskPartitionOffset);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    if (auto s = write_at(fd, chunk.substr(0, got), offset, disk); !s) return s;
    offset += static_cast<off_t>(got);
  }
  if (::fsync(fd) != 0) return Error{"could not write " + disk.string() + ": " + std::strerror(errno)};
  return {};
}

// The disk from a staged root folder that the build may change (modules are added, times reset).
Status build_disk_from_staged(const fs::path& root, const fs::path& scratch, const fs::path& out,
                              const DiskBuild& build, const Logger& log) {
  std::error_code ec;
  if (!fs::is_regular_file(build.kernel, ec))
    return Error{"could not read the kernel " + build.kernel.string() + ": no such file (install linux-image-amd64)"};
  std::string kver = build.kernel_version;
  if (kver.empty()) {
    auto v = kernel_version_of(build.kernel);
    if (!v) return v.error();
    kver = *v;
  }
  auto pending = PendingFile::create(out);
  if (!pending) return pending.error();

  if (auto s = add_modules(root, kver, build.modules, log); !s) return s;
  auto listing = reproducible_listing(root);
  if (!listing) return listing.error();
  const fs::path boot = scratch / "boot";
  fs::create_directories(boot, ec);
  ProcessOptions in_root;
  in_root.working_dir = root.string();
  in_root.stdin_data = *listing;
  if (auto s = run_tool(cpio_argv(scratch / "initrd.cpio"), log, "pack the initrd", in_root); !s) return s;
  if (auto s = run_tool(zstd_argv(scratch / "initrd.cpio", boot / "initrd.img"), log, "compress the initrd"); !s)
    return s;
  fs::copy_file(build.kernel, boot / "vmlinuz", ec);
  if (ec) return Error{"could not copy the kernel " + build.kernel.string() + ": " + ec.message()};
  if (auto s = write_file(boot / "syslinux.cfg", syslinux_cfg(), 0644); !s) return s;

  // syslinux adds ldlinux.sys and ldlinux.c32 (about 180 KiB): counted with room to spare.
  const std::uint64_t content = fs::file_size(boot / "vmlinuz") + fs::file_size(boot / "initrd.img") +
                                fs::file_size(boot / "syslinux.cfg") + 512 * 1024;
  const std::uint64_t fat_bytes = fat_size_for(content);
  auto disk_bytes = disk_size_for(fat_bytes, build.disk_size);
  if (!disk_bytes) return wrap("could not build " + out.string(), disk_bytes.error());

  const fs::path fat = scratch / "boot.fat";
  ProcessOptions fat_env;
  fat_env.extra_env = fat_tools_env();
  if (auto s = run_tool(mkfs_fat_argv(fat, fat_bytes), log, "make the boot partition's FAT", fat_env); !s) return s;
  if (auto s = run_tool(mcopy_argv(fat, {boot / "syslinux.cfg", boot / "vmlinuz", boot / "initrd.img"}), log,
                        "copy the kernel and initrd onto the boot partition", fat_env);
      !s)
    return s;
  if (auto s = run_tool(syslinux_argv(fat), log, "install syslinux on the boot partition", fat_env); !s) return s;

  // A sparse file: the zeros after the partition cost nothing until something writes there.
  if (::truncate(pending->path().c_str(), static_cast<off_t>(*disk_bytes)) != 0)
    return Error{"could not size " + out.string() + ": " + std::strerror(errno)};
  ProcessOptions table;
  table.stdin_data = sfdisk_script(fat_bytes);
  if (auto s = run_tool(sfdisk_argv(pending->path()), log, "write the partition table", table); !s) return s;
  if (auto s = place_into_disk(pending->path(), build.syslinux_mbr, fat); !s) return s;
  return pending->commit();
}

}  // namespace

Status build_disk_from_dir(const fs::path& dir, const fs::path& out, const DiskBuild& build, const Logger& log) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{"could not build a disk image from " + dir.string() + ": no such folder"};
  if (!fs::exists(fs::symlink_status(dir / "sbin/init", ec)))
    return Error{"could not build a disk image from " + dir.string() + ": it has no /sbin/init to boot"};
  if (auto s = check_output_path(out); !s) return s;
  auto scratch = ScratchDir::create(fs::temp_directory_path(), "swarmboot-disk");
  if (!scratch) return scratch.error();
  const fs::path root = scratch->path() / "root";
  // A copy: the build adds modules and resets times, and the caller's folder stays as it was.
  if (auto s = run_tool({"cp", "-a", "--no-target-directory", dir.string(), root.string()}, log,
                        "copy " + dir.string());
      !s)
    return s;
  if (auto s = build_disk_from_staged(root, scratch->path(), out, build, log); !s)
    return wrap("could not build the disk image", s.error());
  return {};
}

Status build_sample_disk(const fs::path& out, const DiskBuild& build, const Logger& log, const fs::path& busybox) {
  if (auto s = check_output_path(out); !s) return s;
  auto scratch = ScratchDir::create(fs::temp_directory_path(), "swarmboot-sample-disk");
  if (!scratch) return scratch.error();
  const fs::path root = scratch->path() / "root";
  std::error_code ec;
  fs::create_directory(root, ec);
  if (ec) return Error{"could not create " + root.string() + ": " + ec.message()};
  if (auto s = stage_sample_tree(root, busybox); !s) return wrap("could not build the sample disk image", s.error());
  if (auto s = build_disk_from_staged(root, scratch->path(), out, build, log); !s)
    return wrap("could not build the sample disk image", s.error());
  return {};
}

}  // namespace swarmboot::images
