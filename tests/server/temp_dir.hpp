// Test helpers shared by the server's tests: a private temporary folder, reading a file, writing a small
// fake squashfs image.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace swarmboot::server::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A temporary folder removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "swarmbootd-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes a small "squashfs" (the magic, then random bytes): enough for the registry, the web seed and a
// swarm.
inline std::string write_image(const std::filesystem::path& path, std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes = "hsqs";
  while (bytes.size() < size) bytes += static_cast<char>(rng() & 0xff);
  std::ofstream(path, std::ios::binary) << bytes;
  return bytes;
}

}  // namespace swarmboot::server::testing
