// OS images as torrents: the one definition of how an image file becomes a .torrent (and so an info-hash),
// and of what a valid image torrent looks like. Server, CLI and agent all go through these functions.
//
// An image torrent is BitTorrent v1, exactly one file, the file named after the image, with no tracker and
// no web seed inside: those are given at run time so that moving the server never changes the info-hash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot {

constexpr std::int64_t kDefaultPieceSize = 1 << 20;  // 1 MiB; `--piece-size` changes it
constexpr std::int64_t kMinPieceSize = 16 * 1024;
constexpr std::int64_t kMaxPieceSize = 16 << 20;

// What kind of image a file holds, from its magic bytes.
enum class ImageFormat { squashfs, ext4, qcow2, raw_disk };
std::string_view to_string(ImageFormat f);
Result<ImageFormat> parse_image_format(std::string_view text);

// Detects the format from the file's first bytes; an Error names the file and says it is not an image.
Result<ImageFormat> detect_image_format(const std::filesystem::path& file);

// Image names: 1–64 of [a-z0-9._-], starting with a letter or digit. They appear in URLs, file names and
// iPXE scripts, so nothing else is allowed.
Status validate_image_name(std::string_view name);

// Piece sizes: a power of two from 16 KiB to 16 MiB.
Status validate_piece_size(std::int64_t piece_size);

struct ImageTorrent {
  std::string name;
  std::int64_t size = 0;
  std::int64_t piece_size = 0;
  int num_pieces = 0;
  std::string info_hash;     // v1 info-hash, 40 lower-case hex digits
  std::vector<char> bytes;   // the bencoded .torrent
};

// Hashes `file` and builds its torrent named `name`. Deterministic: the same bytes, name and piece size
// always give the same .torrent bytes and info-hash.
Result<ImageTorrent> create_image_torrent(const std::filesystem::path& file, std::string_view name,
                                          std::int64_t piece_size = kDefaultPieceSize);

// Parses and validates .torrent bytes as an image torrent (one file, valid name, v1 hashes).
Result<ImageTorrent> parse_image_torrent(std::string_view bytes);

// Lower-case hex of raw bytes, and a check that text is a 40-digit hex info-hash.
std::string to_hex(std::string_view raw);
bool is_info_hash_hex(std::string_view text);

}  // namespace swarmboot
