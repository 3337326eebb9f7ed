// The sample disk image boots for real (label e2e): QEMU's SeaBIOS reads syslinux's MBR from a virtio disk,
// syslinux loads the kernel and the initrd from the FAT partition, the sample's init loads the NIC modules from
// the initrd, asks QEMU's built-in (user-mode, in-process) DHCP server for an address and prints its line.
// About 30-60 s under TCG. No network leaves QEMU: user-mode networking answers DHCP itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "swarmboot/images/image_build.hpp"

using namespace swarmboot;
using namespace swarmboot::images;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string unavailable_reason() {
  if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0) return "no qemu-system-x86_64 (qemu-system-x86)";
  for (const char* f : {"/usr/bin/syslinux", "/usr/bin/mcopy", "/usr/sbin/mkfs.fat", "/usr/sbin/sfdisk"})
    if (!fs::exists(f)) return std::string("no ") + f + " (scripts/deps.sh installs it)";
  if (!newest_kernel()) return "no /boot/vmlinuz-* (linux-image-amd64)";
  return "";
}

TEST(DiskBoot, SampleDiskBootsUnderQemuAndSaysItIsUpFromLocalDisk) {
  if (auto why = unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  std::string p = (fs::temp_directory_path() / "swarmboot-disk-boot-XXXXXX").string();
  const fs::path work = ::mkdtemp(p.data());
  const fs::path disk = work / "sample-disk.img", serial = work / "serial.log";
  DiskBuild build;
  build.kernel = *newest_kernel();
  const Logger log(std::make_shared<LogSink>(LogLevel::error), "image");
  auto built = build_sample_disk(disk, build, log);
  ASSERT_TRUE(built.ok()) << built.error().message;

  // snapshot=on: the guest's writes go to a temporary overlay, the built image stays as built.
  const pid_t qemu = ::fork();
  ASSERT_GE(qemu, 0);
  if (qemu == 0) {
    ::setpgid(0, 0);
    const std::string drive = "file=" + disk.string() + ",format=raw,if=virtio,snapshot=on";
    const std::string serial_arg = "file:" + serial.string();
    ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-display", "none",
             "-monitor", "none", "-serial", serial_arg.c_str(), "-drive", drive.c_str(), nullptr);
    ::_exit(127);
  }
  const std::string want = "swarmboot sample image: up from local disk";
  const auto started = std::chrono::steady_clock::now();
  std::string console;
  bool exited = false;
  while (std::chrono::steady_clock::now() - started < 180s) {
    console = read_file(serial);
    if (console.find(want) != std::string::npos) break;
    int status = 0;
    if (::waitpid(qemu, &status, WNOHANG) == qemu) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(500ms);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!exited) {
    ::kill(qemu, SIGKILL);
    ::waitpid(qemu, nullptr, 0);
  }
  console = read_file(serial);
  const std::string tail = console.size() > 3000 ? console.substr(console.size() - 3000) : console;
  ASSERT_FALSE(exited) << "QEMU exited early; console:\n" << tail;
  ASSERT_NE(console.find(want), std::string::npos) << "no '" << want << "' within 180 s; console:\n" << tail;
  std::cout << "[ disk boot ] '" << want << "' after " << seconds << " s (TCG)\n";
  EXPECT_NE(console.find("SYSLINUX"), std::string::npos) << "booted through syslinux from the disk";
  EXPECT_NE(console.find("swarmboot.boot=disk"), std::string::npos) << "the kernel got syslinux.cfg's command line";
  // QEMU's default NIC is an e1000: its module came from the initrd, and DHCP worked.
  EXPECT_NE(console.find("swarmboot sample image: network eth0 10.0.2.15/24"), std::string::npos) << tail;
  size_t lines = 0;
  for (size_t at = console.find(want); at != std::string::npos; at = console.find(want, at + 1)) ++lines;
  EXPECT_EQ(lines, 1u);
  fs::remove_all(work);
}

}  // namespace
