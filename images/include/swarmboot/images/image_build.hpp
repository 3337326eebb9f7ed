// Building OS images: a squashfs root from a folder, the busybox sample OS, and a minimal Debian via
// debootstrap. Each build writes to a temporary file next to the output and renames it into place only when
// the image is complete, so a failed build leaves nothing behind. The argv of every tool run is made by a pure
// function, so tests can check exactly what runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::images {

// A file of a built-in template (the sample OS, the Debian add-ons), embedded at build time from the
// repository's images/sample and images/debian folders.
struct TemplateFile {
  std::string path;     // relative, e.g. "sbin/init"
  std::string content;
};
const std::vector<TemplateFile>& sample_template();
const std::vector<TemplateFile>& debian_template();

// A template file is executable when it starts with "#!".
unsigned template_file_mode(const TemplateFile& file);

// mksquashfs argv: zstd, reproducible (fixed times, root-owned), never appending to an existing file.
std::vector<std::string> mksquashfs_argv(const std::filesystem::path& dir, const std::filesystem::path& out);

// Checks that `out` can be written: its folder exists and is writable, and it is not a folder itself.
Status check_output_path(const std::filesystem::path& out);

// A temporary path next to `out` (same filesystem, so the final rename is atomic).
std::filesystem::path temp_path_for(const std::filesystem::path& out);

// squashfs from `dir` into `out`. Fails, writing nothing, if dir is missing or out is not writable.
Status build_from_dir(const std::filesystem::path& dir, const std::filesystem::path& out, const Logger& log);

// The busybox sample OS (see images/sample): busybox-static with its applet links, the template's files.
// `busybox` is the static busybox binary to copy.
Status stage_sample_tree(const std::filesystem::path& root, const std::filesystem::path& busybox);
Status build_sample(const std::filesystem::path& out, const Logger& log,
                    const std::filesystem::path& busybox = "/bin/busybox");

// Debian via debootstrap.
struct DebianBuild {
  std::string suite = "bookworm";
  std::string mirror;                     // empty: from apt's sources (mirror_from_apt_sources)
  std::filesystem::path cache_dir;        // holds debootstrap-<suite>; reused when complete
};

// The first "URIs:" of a deb822 sources file (or "deb URL" of a one-line list) that is not a security or
// updates archive; nullopt if none.
std::optional<std::string> mirror_from_apt_sources(std::string_view text);

// ~/.cache/swarmboot, or $SWARMBOOT_CACHE, or $XDG_CACHE_HOME/swarmboot; from these values.
std::filesystem::path default_cache_dir(const char* swarmboot_cache, const char* xdg_cache_home, const char* home);

std::vector<std::string> debootstrap_argv(const std::string& suite, const std::filesystem::path& target,
                                          const std::string& mirror);

Status build_debian(const DebianBuild& build, const std::filesystem::path& out, const Logger& log);

// --- Bootable BIOS disk images -------------------------------------------------------------------------------
// A raw disk a machine's firmware boots after install mode has streamed it onto the machine's disk, or that a
// hypervisor boots as a VM disk: syslinux's MBR, one bootable FAT16 partition at 1 MiB holding syslinux,
// syslinux.cfg, the kernel and an initrd. The initrd is the whole root folder as a zstd newc cpio (the kernel
// runs it with rdinit=/sbin/init) plus the network modules listed in /lib/modules/load-order, which the sample
// OS's init insmods. Built rootless: mkfs.fat and mtools fill a FAT image file, `syslinux --install` makes it
// bootable, sfdisk writes the partition table into the disk file, the FAT image is copied in at 1 MiB.
// Reproducible: fixed FAT volume id and disk id, FAT times 1980-01-01 (the FAT epoch; SOURCE_DATE_EPOCH for
// mtools and syslinux), cpio sorted, mtime 0, owner root, --reproducible.

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
// Where the boot partition starts, the usual alignment; the bytes before it hold the MBR and nothing else.
constexpr std::uint64_t kDiskPartitionOffset = kMiB;
constexpr const char* kDiskKernelCommandLine =
    "console=tty0 console=ttyS0,115200 rdinit=/sbin/init swarmboot.boot=disk";
// The FAT volume id and the MBR disk id: fixed, so that two builds of the same inputs are the same bytes.
constexpr const char* kDiskVolumeId = "5b00c0de";

struct DiskBuild {
  std::filesystem::path kernel;              // required, e.g. /boot/vmlinuz-6.1.0-18-amd64
  std::string kernel_version;                // empty: from the kernel's file name (vmlinuz-VERSION)
  std::optional<std::uint64_t> disk_size;    // bytes (a multiple of 512); nullopt: default_disk_size()
  // The sample needs these for its network when booted from disk; with their dependencies, from the
  // build machine's /lib/modules/VERSION (modprobe -S VERSION --show-depends).
  std::vector<std::string> modules = {"virtio_pci", "virtio_net", "e1000"};
  std::filesystem::path syslinux_mbr = "/usr/lib/syslinux/mbr/mbr.bin";
};

// The newest /boot/vmlinuz-* by version (natural order, as initramfs/CMakeLists.txt picks it); nullopt if none.
std::optional<std::filesystem::path> newest_kernel(const std::filesystem::path& boot_dir = "/boot");
// "vmlinuz-6.1.0-18-amd64" sorts before "vmlinuz-6.1.0-20-amd64": digit runs compare as numbers.
bool natural_less(std::string_view a, std::string_view b);
// The version in a kernel file name "vmlinuz-VERSION"; an error naming the file otherwise.
Result<std::string> kernel_version_of(const std::filesystem::path& kernel);

// syslinux.cfg: boot the kernel with the initrd and kDiskKernelCommandLine at once, on the console and serial.
std::string syslinux_cfg();
// Size of the FAT partition for this many bytes of files: room for FAT16's tables and directories, whole MiB.
std::uint64_t fat_size_for(std::uint64_t content_bytes);
// 1 MiB before the partition + the partition + 1 MiB margin.
std::uint64_t default_disk_size(std::uint64_t fat_bytes);
// The disk size to write: `requested` if it is a multiple of 512 and holds the partition, else an error that
// says how many bytes are needed.
Result<std::uint64_t> disk_size_for(std::uint64_t fat_bytes, std::optional<std::uint64_t> requested);
// Sectors per cluster keeping FAT16 within its 4085..65524 clusters (syslinux refuses odd FAT12 layouts).
unsigned fat_sectors_per_cluster(std::uint64_t fat_bytes);

std::vector<std::string> mkfs_fat_argv(const std::filesystem::path& fat, std::uint64_t fat_bytes);
std::vector<std::string> mcopy_argv(const std::filesystem::path& fat, const std::vector<std::filesystem::path>& files);
std::vector<std::string> syslinux_argv(const std::filesystem::path& fat);
// mtools and syslinux stamp files with SOURCE_DATE_EPOCH (read as UTC) instead of the clock.
std::map<std::string, std::string> fat_tools_env();
std::vector<std::string> sfdisk_argv(const std::filesystem::path& disk);
// The partition table sfdisk reads: DOS label with kDiskVolumeId, partition 1 bootable FAT16 (LBA) at 1 MiB.
std::string sfdisk_script(std::uint64_t fat_bytes);
std::vector<std::string> modprobe_depends_argv(const std::string& kernel_version,
                                               const std::vector<std::string>& modules);
// The module files of `modprobe --show-depends` output ("insmod PATH" lines), in order, each once; builtin
// modules print no insmod line and are left out.
std::vector<std::string> parse_insmod_lines(std::string_view modprobe_output);
// cpio reading a NUL-separated list of names on stdin, writing `out`: newc, owner root, reproducible.
std::vector<std::string> cpio_argv(const std::filesystem::path& out);
std::vector<std::string> zstd_argv(const std::filesystem::path& in, const std::filesystem::path& out);

// The disk image of a root folder (it must have an executable /sbin/init). The folder is copied, not changed.
// Fails, writing nothing, on bad input, a missing tool, or a disk_size too small for the content.
Status build_disk_from_dir(const std::filesystem::path& dir, const std::filesystem::path& out,
                           const DiskBuild& build, const Logger& log);
// The busybox sample OS as a bootable disk.
Status build_sample_disk(const std::filesystem::path& out, const DiskBuild& build, const Logger& log,
                         const std::filesystem::path& busybox = "/bin/busybox");

}  // namespace swarmboot::images
