// Bootable BIOS disk images (`swarmboot image build … --disk`): the pure parts as tables (sizes, partition
// script, every tool's argv, modprobe output, kernel choice, --disk parsing), then real rootless builds checked
// byte by byte: MBR boot code and signature, partition 1 bootable at 1 MiB, the FAT's files (mtools), the
// initrd's contents (cpio), reproducibility, --disk-size, and bad input leaving nothing behind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "swarmboot/images/image_build.hpp"
#include "swarmboot/images/image_command.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/process.hpp"

using namespace swarmboot;
using namespace swarmboot::images;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// --- pure parts --------------------------------------------------------------------------------------------

TEST(DiskSizes, FatHoldsTheContentInWholeMiBAndTheDiskAddsTheOffsetAndAMargin) {
  const struct {
    std::uint64_t content, fat;
  } cases[] = {
      {0, 8 * kMiB},                 // the FAT16 minimum
      {5 * kMiB, 8 * kMiB},
      {12 * kMiB, 14 * kMiB},        // 12 + 0.75 + 1 = 13.75 → 14
      {16 * kMiB, 18 * kMiB},        // 16 + 1 + 1
      {100 * kMiB + 1, 108 * kMiB},  // 100 + 6.25 + 1 + a byte → 108
  };
  for (const auto& c : cases) {
    EXPECT_EQ(fat_size_for(c.content), c.fat) << c.content;
    EXPECT_EQ(fat_size_for(c.content) % kMiB, 0u);
    EXPECT_GE(fat_size_for(c.content), c.content);
  }
  EXPECT_EQ(default_disk_size(14 * kMiB), 16 * kMiB);
  EXPECT_EQ(*disk_size_for(14 * kMiB, std::nullopt), 16 * kMiB);
  EXPECT_EQ(*disk_size_for(14 * kMiB, 64 * kMiB), 64 * kMiB);
  EXPECT_EQ(*disk_size_for(14 * kMiB, 15 * kMiB), 15 * kMiB) << "exactly offset + partition is enough";
  auto small = disk_size_for(14 * kMiB, 15 * kMiB - 512);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("smaller than the 15728640 bytes (15 MiB)"), std::string::npos)
      << small.error().message;
  auto odd = disk_size_for(14 * kMiB, 64 * kMiB + 1);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("not a multiple of 512"), std::string::npos);
}

TEST(DiskSizes, ClustersKeepFat16InItsRange) {
  for (std::uint64_t mib : {8, 14, 31, 32, 33, 64, 200, 1000, 2000}) {
    const std::uint64_t sectors = mib * kMiB / 512;
    const unsigned per = fat_sectors_per_cluster(mib * kMiB);
    EXPECT_LE(sectors / per, 65000u) << mib << " MiB";
    EXPECT_GE(sectors / per, 4200u) << mib << " MiB";
  }
  EXPECT_EQ(fat_sectors_per_cluster(8 * kMiB), 1u);
  EXPECT_EQ(fat_sectors_per_cluster(64 * kMiB), 4u);
}

TEST(DiskToolArgv, AreExactAndReproducible) {
  EXPECT_EQ(describe_command(mkfs_fat_argv("/s/boot.fat", 14 * kMiB)),
            "mkfs.fat -C --invariant -i 5b00c0de -F 16 -s 1 -n SWARMBOOT -h 2048 --mbr=n /s/boot.fat 14336");
  EXPECT_EQ(describe_command(mcopy_argv("/s/boot.fat", {"/s/b/syslinux.cfg", "/s/b/vmlinuz"})),
            "mcopy -i /s/boot.fat /s/b/syslinux.cfg /s/b/vmlinuz ::/");
  EXPECT_EQ(describe_command(syslinux_argv("/s/boot.fat")), "syslinux --install /s/boot.fat");
  EXPECT_EQ(describe_command(sfdisk_argv("/o/.d.img.tmp-1")),
            "sfdisk --quiet --no-reread --no-tell-kernel --wipe never /o/.d.img.tmp-1");
  EXPECT_EQ(sfdisk_script(14 * kMiB),
            "label: dos\nlabel-id: 0x5b00c0de\nunit: sectors\n\nstart=2048, size=28672, type=e, bootable\n");
  EXPECT_EQ(describe_command(cpio_argv("/s/initrd.cpio")),
            "cpio --quiet --reproducible -o -0 -H newc -R 0:0 -O /s/initrd.cpio");
  EXPECT_EQ(describe_command(zstd_argv("/s/i.cpio", "/s/i.img")), "zstd -q -9 -T1 -f /s/i.cpio -o /s/i.img");
  EXPECT_EQ(describe_command(modprobe_depends_argv("6.1.0-18-amd64", {"virtio_net", "e1000"})),
            "modprobe -S 6.1.0-18-amd64 --show-depends -a virtio_net e1000");
  const auto env = fat_tools_env();
  EXPECT_EQ(env.at("SOURCE_DATE_EPOCH"), "315532800");
  EXPECT_EQ(env.at("TZ"), "UTC");
}

TEST(DiskToolArgv, SyslinuxBootsTheKernelWithTheDiskCommandLineAtOnce) {
  const std::string cfg = syslinux_cfg();
  EXPECT_NE(cfg.find("DEFAULT swarmboot\n"), std::string::npos);
  EXPECT_NE(cfg.find("TIMEOUT 0\n"), std::string::npos);
  EXPECT_NE(cfg.find("  LINUX /vmlinuz\n  INITRD /initrd.img\n"), std::string::npos);
  EXPECT_NE(cfg.find("  APPEND console=tty0 console=ttyS0,115200 rdinit=/sbin/init swarmboot.boot=disk\n"),
            std::string::npos)
      << cfg;
}

TEST(Modules, InsmodLinesInOrderEachOnceBuiltinsLeftOut) {
  const std::string out =
      "insmod /lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko \n"
      "insmod /lib/modules/6.1/kernel/drivers/virtio/virtio.ko \n"
      "builtin crc32c\n"
      "insmod /lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko \n"
      "insmod /lib/modules/6.1/kernel/drivers/net/virtio_net.ko.xz \n";
  EXPECT_EQ(parse_insmod_lines(out), (std::vector<std::string>{
                                         "/lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko",
                                         "/lib/modules/6.1/kernel/drivers/virtio/virtio.ko",
                                         "/lib/modules/6.1/kernel/drivers/net/virtio_net.ko.xz"}));
  EXPECT_TRUE(parse_insmod_lines("").empty());
}

TEST(Kernel, NewestByVersionNotByText) {
  EXPECT_TRUE(natural_less("vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-18-amd64"));
  EXPECT_FALSE(natural_less("vmlinuz-6.1.0-18-amd64", "vmlinuz-6.1.0-9-amd64"));
  EXPECT_TRUE(natural_less("vmlinuz-5.10.0-28-amd64", "vmlinuz-6.1.0-1-amd64"));
  EXPECT_FALSE(natural_less("vmlinuz-6.1", "vmlinuz-6.1"));
  EXPECT_TRUE(natural_less("vmlinuz-6.1", "vmlinuz-6.1.1"));

  char pattern[] = "/tmp/swarmboot-kernels-XXXXXX";
  const fs::path dir = ::mkdtemp(pattern);
  EXPECT_EQ(newest_kernel(dir), std::nullopt);
  for (const char* n : {"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-18-amd64", "config-6.1.0-20-amd64", "vmlinuz"})
    std::ofstream(dir / n) << "k";
  EXPECT_EQ(newest_kernel(dir), dir / "vmlinuz-6.1.0-18-amd64");
  fs::remove_all(dir);

  EXPECT_EQ(*kernel_version_of("/boot/vmlinuz-6.1.0-18-amd64"), "6.1.0-18-amd64");
  auto bad = kernel_version_of("/srv/bzImage");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("/srv/bzImage"), std::string::npos);
}

TEST(ParseDisk, FlagsAndSizes) {
  auto a = parse_image_command(split("build --sample --disk --out d.img --disk-size 64M"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  const auto& s = std::get<BuildSample>(*a);
  EXPECT_TRUE(s.disk.disk);
  EXPECT_EQ(s.disk.disk_size, 64 << 20);
  EXPECT_TRUE(s.disk.kernel.empty());

  auto b = parse_image_command(split("build --from-dir /r --disk --out d.img --kernel /k/vmlinuz-1"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(std::get<BuildFromDir>(*b).disk.kernel, "/k/vmlinuz-1");
  EXPECT_EQ(std::get<BuildFromDir>(*b).disk.disk_size, 0);
  EXPECT_FALSE(std::get<BuildSample>(*parse_image_command(split("build --sample --out s.img"))).disk.disk);

  const struct {
    const char* args;
    const char* says;
  } bad[] = {
      {"build --sample --out d.img --disk-size 64M", "only go with --disk"},
      {"build --sample --out d.img --kernel /k", "only go with --disk"},
      {"build --debian bookworm --disk --out d.img", "not --debian"},
      {"build --sample --disk --out d.img --disk-size lots", "--disk-size: 'lots' is not a size"},
      {"build --sample --disk --out d.img --disk-size 64X", "unknown unit"},
  };
  for (const auto& c : bad) {
    auto r = parse_image_command(split(c.args));
    ASSERT_FALSE(r.ok()) << c.args;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.args << " -> " << r.error().message;
  }
  EXPECT_EQ(*parse_byte_size("67108864"), 67108864);
  EXPECT_EQ(*parse_byte_size("64MiB"), 64 << 20);
  EXPECT_EQ(*parse_byte_size("512K"), 512 << 10);
  EXPECT_EQ(*parse_byte_size("2G"), std::int64_t{2} << 30);
  EXPECT_FALSE(parse_byte_size("0").ok());
  EXPECT_FALSE(parse_byte_size("").ok());
  EXPECT_FALSE(parse_byte_size("99999999999999999999").ok());
}

// --- real builds -------------------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string p = (fs::temp_directory_path() / "swarmboot-disk-test-XXXXXX").string();
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

std::uint32_t le32(const std::string& b, size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

Logger quiet_log() { return Logger(std::make_shared<LogSink>(LogLevel::error), "image"); }

std::string missing_tools_reason() {
  for (const char* tool : {"/usr/bin/syslinux", "/usr/bin/mcopy", "/usr/sbin/mkfs.fat", "/usr/sbin/sfdisk",
                           "/usr/bin/cpio", "/usr/bin/zstd", "/usr/lib/syslinux/mbr/mbr.bin", "/bin/busybox"}) {
    if (!fs::exists(tool)) return std::string("no ") + tool + " (scripts/deps.sh installs it)";
  }
  if (!newest_kernel()) return "no /boot/vmlinuz-* (linux-image-amd64)";
  return "";
}

DiskBuild default_build() {
  DiskBuild b;
  b.kernel = *newest_kernel();
  return b;
}

// mtools on the partition inside the disk file (the @@offset syntax), as a user would inspect it.
std::string mtools(const std::string& tool, const fs::path& disk, const std::vector<std::string>& args) {
  std::vector<std::string> argv{tool, "-i", disk.string() + "@@" + std::to_string(kDiskPartitionOffset)};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.extra_env = {{"MTOOLS_SKIP_CHECK", "1"}};
  auto r = run_checked(argv, po);
  return r ? *r : "ERROR: " + r.error().message;
}

class DiskBuildTest : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = missing_tools_reason(); !why.empty()) GTEST_SKIP() << why;
  }
  TempDir t;
};

TEST_F(DiskBuildTest, SampleDiskIsABootableMbrDiskWithSyslinuxKernelAndInitrd) {
  const auto disk = t.path() / "a.img";
  auto built = build_sample_disk(disk, default_build(), quiet_log());
  ASSERT_TRUE(built.ok()) << built.error().message;

  const std::string head = read_file(disk).substr(0, 1024);
  const std::string mbr = read_file("/usr/lib/syslinux/mbr/mbr.bin");
  EXPECT_EQ(head.substr(0, 440), mbr.substr(0, 440)) << "syslinux's MBR boot code";
  EXPECT_EQ(static_cast<unsigned char>(head[510]), 0x55);
  EXPECT_EQ(static_cast<unsigned char>(head[511]), 0xAA);
  EXPECT_EQ(le32(head, 440), 0x5b00c0deu) << "fixed disk id";
  // Partition entry 1 at 446: status, CHS, type, CHS, first LBA, sectors.
  EXPECT_EQ(static_cast<unsigned char>(head[446]), 0x80) << "partition 1 bootable";
  EXPECT_EQ(static_cast<unsigned char>(head[446 + 4]), 0x0e) << "FAT16 (LBA)";
  EXPECT_EQ(le32(head, 446 + 8), 2048u) << "starts at 1 MiB";
  const std::uint64_t part_bytes = std::uint64_t{le32(head, 446 + 12)} * 512;
  for (int p = 1; p < 4; ++p) EXPECT_EQ(static_cast<unsigned char>(head[446 + 16 * p + 4]), 0) << "only one partition";
  EXPECT_EQ(fs::file_size(disk), kDiskPartitionOffset + part_bytes + kMiB) << "default: partition + 1 MiB margin";
  EXPECT_EQ(*detect_image_format(disk), ImageFormat::raw_disk);

  const std::string dir = mtools("mdir", disk, {"-a", "-b", "::/"});  // -a: syslinux hides ldlinux.*
  for (const char* f : {"::/ldlinux.sys", "::/ldlinux.c32", "::/syslinux.cfg", "::/vmlinuz", "::/initrd.img"})
    EXPECT_NE(dir.find(f), std::string::npos) << f << " missing from the FAT:\n" << dir;
  EXPECT_EQ(mtools("mtype", disk, {"::/syslinux.cfg"}), syslinux_cfg());
  const auto vmlinuz = t.path() / "vmlinuz";
  mtools("mcopy", disk, {"::/vmlinuz", vmlinuz.string()});
  EXPECT_EQ(read_file(vmlinuz), read_file(*newest_kernel())) << "the kernel on the FAT is the newest one";

  // The initrd: the sample's root with /sbin/init, busybox, and the NIC modules with their load order.
  const auto initrd = t.path() / "initrd.img";
  mtools("mcopy", disk, {"::/initrd.img", initrd.string()});
  ProcessOptions po;
  po.stdin_data = read_file(initrd);
  auto cpio = run_process({"sh", "-c", "zstd -dc | cpio -it --quiet"}, po);
  ASSERT_TRUE(cpio.ok());
  const std::string names = cpio->output;
  for (const char* n : {"\nsbin/init\n", "\nbin/busybox\n", "\nbin/sh\n", "\nlib/modules/load-order\n", "/virtio_net.ko\n",
                        "/e1000.ko\n", "/virtio_pci.ko\n"})
    EXPECT_NE(names.find(n), std::string::npos) << n << " not in the initrd";
  EXPECT_EQ(names.find(".."), std::string::npos) << "names are relative to the root, links not followed";
  auto order = run_process({"sh", "-c", "zstd -dc | cpio -i --quiet --to-stdout lib/modules/load-order"}, po);
  ASSERT_TRUE(order.ok());
  EXPECT_LT(order->output.find("/virtio_ring.ko"), order->output.find("/virtio_net.ko")) << order->output;
  EXPECT_NE(order->output.find("/lib/modules/" + *kernel_version_of(*newest_kernel()) + "/kernel/"),
            std::string::npos)
      << order->output;
  EXPECT_EQ(listing(t.path()), (std::set<std::string>{"a.img", "initrd.img", "vmlinuz"})) << "temporary files left";
}

TEST_F(DiskBuildTest, TwoBuildsAreTheSameBytesAndDiskSizeOnlyAddsFreeSpace) {
  const auto a = t.path() / "a.img", b = t.path() / "b.img", big = t.path() / "big.img";
  ASSERT_TRUE(build_sample_disk(a, default_build(), quiet_log()).ok());
  ASSERT_TRUE(build_sample_disk(b, default_build(), quiet_log()).ok());
  auto sums = run_checked({"sha256sum", a.string(), b.string()});
  ASSERT_TRUE(sums.ok());
  std::istringstream lines(*sums);
  std::string sum_a, sum_b, ignore;
  lines >> sum_a >> ignore >> sum_b;
  EXPECT_EQ(sum_a, sum_b) << "two builds of the sample disk differ:\n" << *sums;

  DiskBuild sized = default_build();
  sized.disk_size = 64 * kMiB;
  ASSERT_TRUE(build_sample_disk(big, sized, quiet_log()).ok());
  EXPECT_EQ(fs::file_size(big), 64 * kMiB);
  const std::string small_bytes = read_file(a), big_bytes = read_file(big);
  EXPECT_EQ(big_bytes.substr(0, small_bytes.size()), small_bytes) << "the same disk, then free space";
  EXPECT_EQ(big_bytes.find_first_not_of('\0', small_bytes.size()), std::string::npos) << "zeros after it";
}

TEST_F(DiskBuildTest, FromDirNeedsInitAndLeavesTheFolderAlone) {
  const auto root = t.path() / "root";
  fs::create_directories(root / "etc");
  std::ofstream(root / "etc/hostname") << "mine\n";
  const auto out = t.path() / "mine.img";
  auto r = build_disk_from_dir(root, out, default_build(), quiet_log());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no /sbin/init"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(out));

  fs::create_directories(root / "sbin");
  std::ofstream(root / "sbin/init") << "#!/bin/sh\n";
  fs::permissions(root / "sbin/init", fs::perms(0755));
  auto ok = build_disk_from_dir(root, out, default_build(), quiet_log());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*detect_image_format(out), ImageFormat::raw_disk);
  EXPECT_FALSE(fs::exists(root / "lib")) << "modules went into a copy, not the caller's folder";
}

TEST_F(DiskBuildTest, TooSmallDiskSizeFailsClearlyWritingNothing) {
  const auto out = t.path() / "small.img";
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = run_image_command(split("build --sample --disk --disk-size 4M --out " + out.string()));
  testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("--disk-size 4194304 bytes is smaller than the"), std::string::npos) << err;
  EXPECT_TRUE(fs::is_empty(t.path())) << "nothing written";

  DiskBuild missing = default_build();
  missing.kernel = t.path() / "vmlinuz-none";
  auto r = build_sample_disk(out, missing, quiet_log());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no such file"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fs::is_empty(t.path()));
}

}  // namespace
