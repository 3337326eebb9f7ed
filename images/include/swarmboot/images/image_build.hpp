// Building OS images: a squashfs root from a folder, the busybox sample OS, and a minimal Debian via
// debootstrap. Each build writes to a temporary file next to the output and renames it into place only when
// the image is complete, so a failed build leaves nothing behind. The argv of every tool run is made by a pure
// function, so tests can check exactly what runs.
#pragma once

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

}  // namespace swarmboot::images
