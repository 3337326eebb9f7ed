// The image registry: a folder holding, for every registered image, NAME.torrent and NAME.json (its record),
// and optionally NAME.profile (its boot profile, swarmcore/boot_profile.hpp).
// `swarmboot image add` writes it; swarmbootd reads it (and adds to it through its API). The image file
// itself stays where the user keeps it; the record holds its absolute path.
//
// Writes are atomic per image: the torrent and the record are written to temporary names and renamed, the
// record last, so a crash leaves either a complete entry or none (stray temporaries are ignored).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "swarmcore/image_torrent.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot {

struct ImageRecord {
  std::string name;
  std::string path;          // absolute path of the image file
  ImageFormat format = ImageFormat::squashfs;
  std::int64_t size = 0;
  std::int64_t piece_size = 0;
  int num_pieces = 0;
  std::string info_hash;     // 40 hex digits
  std::int64_t added = 0;    // unix seconds
};

class ImageRegistry {
 public:
  explicit ImageRegistry(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Hashes `file` and registers it as `name`. Fails, changing nothing, if the name is taken, the name or
  // piece size is invalid, the file is not an image, or the folder is not writable.
  Result<ImageRecord> add(const std::filesystem::path& file, const std::string& name,
                          std::int64_t piece_size = kDefaultPieceSize) const;

  // Registers an already-created torrent for `file` (used when the caller hashed it).
  Result<ImageRecord> add_torrent(const std::filesystem::path& file, const ImageTorrent& torrent,
                                  ImageFormat format) const;

  Result<std::vector<ImageRecord>> list() const;    // sorted by name; a missing folder is an empty registry
  Result<ImageRecord> find(const std::string& name) const;
  Result<std::string> torrent_bytes(const std::string& name) const;
  Status remove(const std::string& name) const;     // removes the entry and its profile, never the image file

  // The image's boot profile as stored (nullopt when it has none). An error for an unregistered image.
  Result<std::optional<std::string>> boot_profile(const std::string& name) const;
  // Stores `text` as the image's boot profile, replacing any, atomically (temporary name, then rename). The
  // text is stored as given: the caller checks it first with parse_boot_profile against the image's size.
  // Fails, changing nothing, for an unregistered image or an unwritable folder.
  Status set_boot_profile(const std::string& name, const std::string& text) const;
  // Removes the image's boot profile; an error when it has none.
  Status remove_boot_profile(const std::string& name) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

std::string to_json(const ImageRecord& record);
Result<ImageRecord> image_record_from_json(const std::string& text);

}  // namespace swarmboot
