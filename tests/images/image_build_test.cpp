// Real builds with mksquashfs: the sample image (reproducible; loop-mounted when root), a folder round trip
// through unsquashfs, `image add` output, and every kind of bad input leaving no file behind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "swarmboot/images/image_build.hpp"
#include "swarmboot/images/image_command.hpp"
#include "swarmcore/image_registry.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/process.hpp"

using namespace swarmboot;
using namespace swarmboot::images;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string p = (fs::temp_directory_path() / "swarmboot-images-test-XXXXXX").string();
    path_ = ::mkdtemp(p.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

Logger quiet_log() { return Logger(std::make_shared<LogSink>(LogLevel::error), "image"); }

// Runs the command as the CLI would, capturing stdout and stderr.
struct CliRun {
  int code;
  std::string out, err;
};
CliRun run_cli(const std::vector<std::string>& args) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = run_image_command(args);
  CliRun r{code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return r;
}

std::string loop_mount_unavailable_reason() {
  if (::geteuid() != 0) return "needs root to loop-mount";
  if (!fs::exists("/dev/loop-control")) return "no /dev/loop-control";
  return "";
}

TEST(SampleImage, BuildsAReproducibleSquashfs) {
  TempDir t;
  const auto a = t.path() / "a.img", b = t.path() / "b.img";
  ASSERT_TRUE(build_sample(a, quiet_log()).ok());
  ASSERT_TRUE(build_sample(b, quiet_log()).ok());
  auto format = detect_image_format(a);
  ASSERT_TRUE(format.ok()) << format.error().message;
  EXPECT_EQ(*format, ImageFormat::squashfs);
  EXPECT_EQ(read_file(a), read_file(b)) << "two builds of the sample differ";
  EXPECT_LT(fs::file_size(a), 8u << 20) << "the sample should stay small";
  EXPECT_EQ(listing(t.path()), (std::set<std::string>{"a.img", "b.img"})) << "temporary files left behind";
}

TEST(SampleImage, LoopMountShowsExecutableInitAndBusybox) {
  if (auto why = loop_mount_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  TempDir t;
  const auto img = t.path() / "sample.img";
  ASSERT_TRUE(build_sample(img, quiet_log()).ok());
  const auto mnt = t.path() / "mnt";
  fs::create_directory(mnt);
  auto m = run_process({"mount", "-o", "loop,ro", img.string(), mnt.string()});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->exit_code, 0) << m->output;
  struct stat init {};
  const bool have_init = ::stat((mnt / "sbin/init").c_str(), &init) == 0;
  const std::string init_text = read_file(mnt / "sbin/init");
  const bool busybox_exec = ::access((mnt / "bin/busybox").c_str(), X_OK) == 0;
  const auto sh_target = fs::read_symlink(mnt / "bin/sh");
  const bool have_report = fs::exists(mnt / "sbin/swarmboot-report");
  auto u = run_process({"umount", mnt.string()});  // before any assertion can end the test
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->exit_code, 0) << u->output;
  ASSERT_TRUE(have_init);
  EXPECT_TRUE(S_ISREG(init.st_mode));
  EXPECT_NE(init.st_mode & S_IXUSR, 0u);
  EXPECT_TRUE(init_text.starts_with("#!/bin/busybox sh"));
  EXPECT_TRUE(busybox_exec);
  EXPECT_EQ(sh_target, "/bin/busybox");
  EXPECT_TRUE(have_report);
}

TEST(FromDir, RoundTripsThroughUnsquashfs) {
  TempDir t;
  const auto root = t.path() / "root";
  fs::create_directories(root / "etc/deep/er");
  std::ofstream(root / "etc/hostname") << "roundtrip\n";
  std::ofstream(root / "etc/deep/er/data.bin") << std::string(100000, 'x') << "end";
  fs::create_symlink("etc/hostname", root / "link");
  const auto img = t.path() / "dir.img";
  auto r = run_cli({"build", "--from-dir", root.string(), "--out", img.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("built " + img.string()), std::string::npos);
  const auto back = t.path() / "back";
  auto u = run_process({"unsquashfs", "-no-progress", "-d", back.string(), img.string()});
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->exit_code, 0) << u->output;
  EXPECT_EQ(read_file(back / "etc/hostname"), "roundtrip\n");
  EXPECT_EQ(read_file(back / "etc/deep/er/data.bin"), std::string(100000, 'x') + "end");
  EXPECT_EQ(fs::read_symlink(back / "link"), "etc/hostname");
}

TEST(ImageAdd, PrintsNameSizePiecesAndTheInfoHash) {
  TempDir t;
  const auto img = t.path() / "s.img";
  ASSERT_TRUE(build_sample(img, quiet_log()).ok());
  const auto reg = t.path() / "registry";
  auto r = run_cli({"add", img.string(), "--name", "sample", "--registry", reg.string(), "--piece-size", "65536"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto expected = create_image_torrent(img, "sample", 65536);
  ASSERT_TRUE(expected.ok());
  const auto size = fs::file_size(img);
  EXPECT_NE(r.out.find("name:      sample\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("size:      " + std::to_string(size) + " bytes\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pieces:    " + std::to_string((size + 65535) / 65536) + " x 65536 bytes\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("info-hash: " + expected->info_hash + "\n"), std::string::npos) << r.out;
  auto found = ImageRegistry(reg).find("sample");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->info_hash, expected->info_hash);
}

TEST(BadInput, MissingFolderWritesNothing) {
  TempDir t;
  auto r = run_cli({"build", "--from-dir", (t.path() / "nope").string(), "--out", (t.path() / "x.img").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such folder"), std::string::npos) << r.err;
  EXPECT_TRUE(listing(t.path()).empty());
}

TEST(BadInput, UnwritableOutputsWriteNothing) {
  TempDir t;
  fs::create_directory(t.path() / "root");
  fs::create_directory(t.path() / "adir");
  const std::string root = (t.path() / "root").string();
  const struct {
    std::string out;
    const char* says;
  } cases[] = {
      {(t.path() / "missing/x.img").string(), "no folder"},
      {(t.path() / "adir").string(), "it is a folder"},
      {"/proc/swarmboot-test.img", "could not write /proc/swarmboot-test.img"},
  };
  for (const auto& c : cases) {
    auto r = run_cli({"build", "--from-dir", root, "--out", c.out});
    EXPECT_EQ(r.code, 1) << c.out;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.out << ": " << r.err;
    auto s = run_cli({"build", "--sample", "--out", c.out});
    EXPECT_EQ(s.code, 1) << c.out;
    EXPECT_NE(s.err.find(c.says), std::string::npos) << c.out << ": " << s.err;
  }
  EXPECT_EQ(listing(t.path()), (std::set<std::string>{"adir", "root"}));
  EXPECT_TRUE(fs::is_empty(t.path() / "adir"));
}

TEST(BadInput, AFileGivenAsTheFolderWritesNothing) {
  TempDir t;
  const auto root = t.path() / "root";
  fs::create_directory(root);
  std::ofstream(root / "file") << "x";
  auto r = run_cli({"build", "--from-dir", (root / "file").string(), "--out", (t.path() / "x.img").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such folder"), std::string::npos) << r.err;
  EXPECT_EQ(listing(t.path()), (std::set<std::string>{"root"}));
}

TEST(BadInput, DuplicateNameLeavesTheRegistryUnchanged) {
  TempDir t;
  const auto img = t.path() / "s.img";
  ASSERT_TRUE(build_sample(img, quiet_log()).ok());
  const auto reg = t.path() / "registry";
  ASSERT_EQ(run_cli({"add", img.string(), "--name", "one", "--registry", reg.string()}).code, 0);
  const auto before = read_file(reg / "one.torrent") + read_file(reg / "one.json");
  std::ofstream(t.path() / "other.img") << "not the same";
  auto r = run_cli({"add", img.string(), "--name", "one", "--registry", reg.string(), "--piece-size", "65536"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already registered"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(reg / "one.torrent") + read_file(reg / "one.json"), before);
  EXPECT_EQ(listing(reg), (std::set<std::string>{"one.json", "one.torrent"}));
}

TEST(BadInput, NonImageFileIsRefusedAndNothingRegistered) {
  TempDir t;
  const auto notes = t.path() / "notes.txt";
  std::ofstream(notes) << std::string(70000, 'n');
  const auto reg = t.path() / "registry";
  auto r = run_cli({"add", notes.string(), "--name", "notes", "--registry", reg.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not"), std::string::npos) << r.err;
  EXPECT_TRUE(!fs::exists(reg) || fs::is_empty(reg));
  auto missing = run_cli({"add", (t.path() / "gone.img").string(), "--name", "gone", "--registry", reg.string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_TRUE(!fs::exists(reg) || fs::is_empty(reg));
}

TEST(BadInput, UsageErrorsExitTwo) {
  auto r = run_cli({"build", "--sample"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out FILE is required"), std::string::npos);
}

}  // namespace
