// Whole-file reads and writes shared by the server's registry and the agent's status and profile files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "swarmcore/result.hpp"

namespace swarmboot {

// The file's bytes, or an Error naming the file and the reason.
Result<std::string> read_file(const std::filesystem::path& path);

// Writes `data` to a temporary name beside `path` and renames it over `path`, so a reader (or a crash) sees the
// old file or the new one, never part of one. On error nothing is left behind and `path` is unchanged.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data);

}  // namespace swarmboot
