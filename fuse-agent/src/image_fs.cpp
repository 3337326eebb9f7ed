// FUSE low-level operations for the one-file image filesystem (see image_fs.hpp).
#include "image_fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <cstring>
#include <ctime>
#include <vector>

namespace swarmboot::agent {

namespace {
constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;
constexpr fuse_ino_t kImageIno = 2;
// The image never changes under a mount: let the kernel cache names, attributes and pages for long.
constexpr double kCacheSeconds = 86400;
}  // namespace

struct ImageFs::State {
  std::string mountpoint;
  std::string name;
  std::int64_t size = 0;
  Logger log{std::make_shared<LogSink>(), "agent.fuse"};  // replaced by mount()
  timespec started{};
  ImageAgent* agent = nullptr;  // set by serve() before the loop runs
  std::string bdi;              // "MAJ:MIN" of the mount, from mountinfo (stat would ask ourselves)
  int readahead_kib = 0;         // set by mount()
  std::once_flag readahead_once;
  fuse_session* session = nullptr;
  bool mounted = false;
};

namespace {

ImageFs::State& state(fuse_req_t req) { return *static_cast<ImageFs::State*>(fuse_req_userdata(req)); }

bool fill_attr(const ImageFs::State& s, fuse_ino_t ino, struct stat& st) {
  std::memset(&st, 0, sizeof st);
  st.st_ino = ino;
  st.st_uid = 0;
  st.st_gid = 0;
  st.st_atim = st.st_mtim = st.st_ctim = s.started;
  if (ino == kRootIno) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
    return true;
  }
  if (ino == kImageIno) {
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    st.st_size = s.size;
    st.st_blksize = 4096;
    st.st_blocks = (s.size + 511) / 512;
    return true;
  }
  return false;
}

void op_init(void* /*userdata*/, fuse_conn_info* conn) {
  // Splice the cache file's pages straight into the reply; fall back silently where the kernel can't.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  // Reads are answered out of order by design (parked reads), so let the kernel issue them concurrently.
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  conn->max_readahead = 1 << 20;
}

// The kernel caps a FUSE mount's readahead at its default (128 KiB) when the INIT reply is processed; the
// mount's bdi read_ahead_kb, written after INIT, sets it (a file takes the value when it is opened). The
// trade: from a complete image, 4 MiB (requests of FUSE's 1 MiB max_pages) reads sequentially faster — the
// per-request cost dominates at 128 KiB (docs/benchmarks.md); while the image is arriving, every read also
// waits for the pieces its readahead spans, and a recorded boot profile grows by them (33% of the pieces for an
// 11% boot trace at 4 MiB, 14% at 128 KiB). Booting is the job, so the agent's default is 128 KiB
// (--readahead-kib). Done on the first lookup, which always follows INIT and precedes every open.
void set_readahead(ImageFs::State& s) {
  if (s.bdi.empty()) return;
  const std::string path = "/sys/class/bdi/" + s.bdi + "/read_ahead_kb";
  std::ofstream ra(path);
  ra << s.readahead_kib << std::flush;
  if (!ra) s.log.warn("could not set the mount's readahead ({}); it stays at 128 KiB", path);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& s = state(req);
  std::call_once(s.readahead_once, [&] { set_readahead(s); });
  if (parent != kRootIno || s.name != name) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = kImageIno;
  e.attr_timeout = kCacheSeconds;
  e.entry_timeout = kCacheSeconds;
  fill_attr(s, kImageIno, e.attr);
  fuse_reply_entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  struct stat st;
  if (!fill_attr(state(req), ino, st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, kCacheSeconds);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kImageIno) {
    fuse_reply_err(req, ino == kRootIno ? EISDIR : ENOENT);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fi->keep_cache = 1;  // pages once read stay valid: the image's bytes never change
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  if (ino != kImageIno) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  state(req).agent->read(req, size, off);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  const auto& s = state(req);
  std::vector<char> buf(size);
  size_t used = 0;
  const std::pair<const char*, fuse_ino_t> entries[] = {{".", kRootIno}, {"..", kRootIno}, {s.name.c_str(), kImageIno}};
  for (off_t i = off; i < 3; ++i) {
    struct stat st;
    fill_attr(s, entries[i].second, st);
    const size_t n = fuse_add_direntry(req, buf.data() + used, size - used, entries[i].first, &st, i + 1);
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_statfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  struct statvfs st {};
  const auto& s = state(req);
  st.f_bsize = st.f_frsize = 4096;
  st.f_blocks = static_cast<fsblkcnt_t>((s.size + 4095) / 4096);
  st.f_files = 2;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.open = op_open;
  ops.read = op_read;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.statfs = op_statfs;
  return ops;
}();

}  // namespace

Result<std::unique_ptr<ImageFs>> ImageFs::mount(const std::string& mountpoint, const std::string& name,
                                                std::int64_t size, int readahead_kib, Logger log) {
  std::unique_ptr<ImageFs> fs(new ImageFs());
  fs->state_ = std::make_unique<State>();
  fs->state_->mountpoint = mountpoint;
  fs->state_->name = name;
  fs->state_->size = size;
  fs->state_->readahead_kib = readahead_kib;
  fs->state_->log = std::move(log);
  clock_gettime(CLOCK_REALTIME, &fs->state_->started);

  const std::string opts = "-oro,allow_other,default_permissions,fsname=swarmboot:" + name + ",subtype=swarmboot";
  std::vector<const char*> argv = {"swarmboot-agent", opts.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  fs->state_->session = fuse_session_new(&args, &kOps, sizeof kOps, fs->state_.get());
  if (!fs->state_->session) return Error{"could not create the FUSE session (is /dev/fuse usable?)"};
  if (fuse_session_mount(fs->state_->session, mountpoint.c_str()) != 0)
    return Error{"could not mount FUSE on " + mountpoint};
  fs->state_->mounted = true;
  {
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) {
      std::istringstream f(line);
      std::string id, parent, devno, root, mp;
      f >> id >> parent >> devno >> root >> mp;
      if (mp == mountpoint) fs->state_->bdi = devno;
    }
  }
  return fs;
}

void ImageFs::serve(ImageAgent& agent) {
  state_->agent = &agent;
  fuse_session* se = state_->session;
  if (fuse_set_signal_handlers(se) != 0) {
    state_->log.error("could not install signal handlers");
    return;
  }
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, 16);
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  const int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_remove_signal_handlers(se);
  // libfuse returns the number of the signal that ended the loop, 0 after an unmount, -errno on errors.
  if (rc < 0) {
    state_->log.error("FUSE loop failed: {}", std::strerror(-rc));
  } else if (rc > 0) {
    state_->log.info("FUSE loop ended by signal {}", rc);
  } else {
    state_->log.info("FUSE loop ended: unmounted");
  }
}

void ImageFs::request_exit() { fuse_session_exit(state_->session); }

void ImageFs::unmount() {
  if (state_ && state_->mounted) {
    fuse_session_unmount(state_->session);
    state_->mounted = false;
  }
}

ImageFs::~ImageFs() {
  if (!state_) return;
  unmount();
  if (state_->session) fuse_session_destroy(state_->session);
}

}  // namespace swarmboot::agent
