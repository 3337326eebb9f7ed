// Where `swarmboot-agent install` writes the image: choosing the disk for `--target auto` and refusing a target
// too small to hold the image, before a single byte is written. The decisions are pure (a parsed list of
// disks in, a choice or a message out) and table-tested; `read_block_devices` is the thin I/O that parses
// /sys/block into that list.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// How `swarmboot-agent install` ends; /init decides whether to retry from it.
enum InstallExit : int {
  kInstallOk = 0,              // the target holds exactly the image, verified
  kInstallFailed = 1,          // network, disk error, interrupted, verification failed: a retry may help
  kInstallUsage = 2,           // bad command line
  kInstallTargetUnusable = 3,  // no disk fits, target too small / read-only / in use: retrying cannot help
};

// One whole disk as /sys/block describes it.
struct BlockDevice {
  std::string name;             // "vda", "nvme0n1"
  bool removable = false;       // /sys/block/NAME/removable
  bool read_only = false;       // /sys/block/NAME/ro
  std::int64_t size_bytes = 0;  // /sys/block/NAME/size × 512 (the kernel counts 512-byte sectors)
};

// Kernel names that are never an install disk: loop, ram, zram, optical (sr), floppy (fd), device-mapper
// (dm-), software RAID (md) devices. /sys/block lists no partitions, so those need no rule.
bool is_install_disk_name(std::string_view name);

// `--target auto`: the first disk by name (vda before vdb) that is an install disk name, not removable, not
// read-only and at least `image_size` bytes; "/dev/NAME". When none qualifies, an Error that lists every
// disk and why it was passed over, ending ": nothing written".
Result<std::string> choose_install_disk(std::vector<BlockDevice> disks, std::int64_t image_size,
                                        std::string_view image_name);

// The target must hold the whole image. The Error reads
// "target /dev/vda holds 8388608 bytes; image debian needs 62914560: nothing written".
Status check_target_fits(std::string_view target, std::int64_t target_bytes, std::string_view image_name,
                         std::int64_t image_size);

// Reads every entry of `sys_block` (normally /sys/block) into BlockDevices; entries whose attributes cannot
// be read are skipped (a device vanishing while we look). An Error only when the folder cannot be listed.
Result<std::vector<BlockDevice>> read_block_devices(const std::filesystem::path& sys_block = "/sys/block");

}  // namespace swarmboot::agent
