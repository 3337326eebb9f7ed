// Install disk choice and size check (see install_target.hpp).
#include "install_target.hpp"

#include <algorithm>
#include <fstream>

namespace swarmboot::agent {

namespace fs = std::filesystem;

bool is_install_disk_name(std::string_view name) {
  for (std::string_view prefix : {"loop", "ram", "zram", "sr", "fd", "dm-", "md"})
    if (name.substr(0, prefix.size()) == prefix) return false;
  return !name.empty();
}

Result<std::string> choose_install_disk(std::vector<BlockDevice> disks, std::int64_t image_size,
                                        std::string_view image_name) {
  std::sort(disks.begin(), disks.end(), [](const BlockDevice& a, const BlockDevice& b) { return a.name < b.name; });
  std::string passed_over;
  for (const auto& d : disks) {
    if (!is_install_disk_name(d.name)) continue;  // not disks at all: not worth a mention
    std::string why;
    if (d.removable) {
      why = "removable";
    } else if (d.read_only) {
      why = "read-only";
    } else if (d.size_bytes < image_size) {
      why = "holds " + std::to_string(d.size_bytes) + " bytes";
    } else {
      return "/dev/" + d.name;
    }
    passed_over += (passed_over.empty() ? "" : ", ") + d.name + " " + why;
  }
  return Error{"could not choose an install disk for image " + std::string(image_name) + " (" +
               std::to_string(image_size) + " bytes): " + (passed_over.empty() ? "no disk found" : passed_over) +
               ": nothing written"};
}

Status check_target_fits(std::string_view target, std::int64_t target_bytes, std::string_view image_name,
                         std::int64_t image_size) {
  if (target_bytes >= image_size) return {};
  return Error{"target " + std::string(target) + " holds " + std::to_string(target_bytes) + " bytes; image " +
               std::string(image_name) + " needs " + std::to_string(image_size) + ": nothing written"};
}

namespace {

bool read_number(const fs::path& file, std::int64_t& out) {
  std::ifstream in(file);
  return static_cast<bool>(in >> out);
}

}  // namespace

Result<std::vector<BlockDevice>> read_block_devices(const fs::path& sys_block) {
  std::error_code ec;
  fs::directory_iterator it(sys_block, ec);
  if (ec) return Error{"could not list the disks in " + sys_block.string() + ": " + ec.message()};
  std::vector<BlockDevice> out;
  for (const auto& entry : it) {
    BlockDevice d;
    d.name = entry.path().filename().string();
    std::int64_t removable = 0, ro = 0, sectors = 0;
    if (!read_number(entry.path() / "removable", removable) || !read_number(entry.path() / "ro", ro) ||
        !read_number(entry.path() / "size", sectors))
      continue;
    d.removable = removable != 0;
    d.read_only = ro != 0;
    d.size_bytes = sectors * 512;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace swarmboot::agent
