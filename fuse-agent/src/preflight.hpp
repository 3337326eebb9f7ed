// Checks done before anything is mounted or started, so that bad input ends in one line naming the problem
// and leaves nothing behind: the torrent (file or URL, one file, expected info-hash), the cache directory
// (writable), the mountpoint (an existing directory nobody has mounted on).
#pragma once

#include <string>
#include <vector>

#include "agent_options.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

Result<ImageTorrent> load_torrent(const std::string& path_or_url, const std::string& expected_info_hash);
// The pieces a boot profile (boot_profile.hpp) names, from a path or an http:// URL.
Result<std::vector<int>> load_boot_profile(const std::string& path_or_url, const ImageTorrent& torrent);
Status check_cache_dir(const std::string& dir);
Status check_mountpoint(const std::string& dir);
// The bearer token for --report, whitespace trimmed.
Result<std::string> read_token_file(const std::string& path);
// --root-daemon hygiene (DESIGN.md): argv[0][0] = '@' is done by main; this does the rest. Failures that
// old kernels cause are logged and tolerated; the others are errors.
Status become_root_storage_daemon(const swarmboot::Logger& log);

}  // namespace swarmboot::agent
