// `swarmboot image …`: building OS images and registering them. The command line is parsed into plain
// structs by a pure function (tested with tables); run_image_command wires parsing to the builds.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "swarmcore/image_registry.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::images {

// --disk: a bootable BIOS disk instead of a squashfs (see DiskBuild in image_build.hpp).
struct DiskOptions {
  bool disk = false;
  std::int64_t disk_size = 0;  // 0: just big enough
  std::string kernel;          // empty: the newest /boot/vmlinuz-*
};
struct BuildFromDir {
  std::string dir;
  std::string out;
  DiskOptions disk = {};
};
struct BuildSample {
  std::string out;
  DiskOptions disk = {};
};
struct BuildDebian {
  std::string suite;
  std::string out;
  std::string cache_dir;  // empty: default_cache_dir()
  std::string mirror;     // empty: apt's mirror
};
struct AddImage {
  std::string file;
  std::string name;
  std::string registry;
  std::int64_t piece_size = 0;
};
struct ImageHelp {
  std::string text;
};

using ImageCommand = std::variant<BuildFromDir, BuildSample, BuildDebian, AddImage, ImageHelp>;

// "67108864", "64M", "64MiB", "2G", "512K": bytes, with binary multiples. Errors name the text.
Result<std::int64_t> parse_byte_size(const std::string& text);

// args start after "image". Errors read "could not parse the command line: …" and name the flag.
Result<ImageCommand> parse_image_command(const std::vector<std::string>& args);

// What `image add` prints: name, size, piece count and size, info-hash, torrent path.
void print_image_record(const ImageRecord& record, const std::string& registry_dir, std::ostream& out);

// Runs `swarmboot image <args…>` (args start after "image"); returns the process exit code.
int run_image_command(const std::vector<std::string>& args);

}  // namespace swarmboot::images
