// Registry folder I/O: NAME.torrent + NAME.json (+ NAME.profile), each written to a temporary name then
// renamed.
#include "swarmcore/image_registry.hpp"

#include "swarmcore/file_io.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace swarmboot {
namespace fs = std::filesystem;
using nlohmann::json;

std::string to_json(const ImageRecord& r) {
  json j = {{"name", r.name},         {"path", r.path},           {"format", std::string(to_string(r.format))},
            {"size", r.size},         {"piece_size", r.piece_size}, {"num_pieces", r.num_pieces},
            {"info_hash", r.info_hash}, {"added", r.added}};
  return j.dump(2) + "\n";
}

Result<ImageRecord> image_record_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    ImageRecord r;
    r.name = j.at("name").get<std::string>();
    r.path = j.at("path").get<std::string>();
    auto format = parse_image_format(j.at("format").get<std::string>());
    if (!format) return format.error();
    r.format = *format;
    r.size = j.at("size").get<std::int64_t>();
    r.piece_size = j.at("piece_size").get<std::int64_t>();
    r.num_pieces = j.at("num_pieces").get<int>();
    r.info_hash = j.at("info_hash").get<std::string>();
    r.added = j.at("added").get<std::int64_t>();
    if (!is_info_hash_hex(r.info_hash)) return Error{"bad info_hash"};
    return r;
  } catch (const json::exception& e) {
    return Error{std::string("malformed image record: ") + e.what()};
  }
}

Result<ImageRecord> ImageRegistry::add(const fs::path& file, const std::string& name, std::int64_t piece_size) const {
  const std::string what = "could not add image '" + name + "'";
  if (auto s = validate_image_name(name); !s) return wrap(what, s.error());
  if (auto s = validate_piece_size(piece_size); !s) return wrap(what, s.error());
  if (fs::exists(dir_ / (name + ".json"))) return Error{what + ": an image of that name is already registered"};
  auto format = detect_image_format(file);
  if (!format) return wrap(what, format.error());
  auto torrent = create_image_torrent(file, name, piece_size);
  if (!torrent) return wrap(what, torrent.error());
  return add_torrent(file, *torrent, *format);
}

Result<ImageRecord> ImageRegistry::add_torrent(const fs::path& file, const ImageTorrent& torrent,
                                               ImageFormat format) const {
  const std::string what = "could not add image '" + torrent.name + "'";
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Error{what + ": could not create " + dir_.string() + ": " + ec.message()};
  const fs::path record_path = dir_ / (torrent.name + ".json");
  const fs::path torrent_path = dir_ / (torrent.name + ".torrent");
  if (fs::exists(record_path)) return Error{what + ": an image of that name is already registered"};
  if (auto existing = list(); existing) {
    for (const auto& r : *existing) {
      if (r.info_hash == torrent.info_hash) {
        return Error{what + ": the same image is already registered as '" + r.name + "'"};
      }
    }
  }
  ImageRecord r;
  r.name = torrent.name;
  r.path = fs::absolute(file, ec).lexically_normal().string();
  r.format = format;
  r.size = torrent.size;
  r.piece_size = torrent.piece_size;
  r.num_pieces = torrent.num_pieces;
  r.info_hash = torrent.info_hash;
  r.added = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto s = write_file_atomic(torrent_path, std::string_view(torrent.bytes.data(), torrent.bytes.size())); !s) {
    return wrap(what, s.error());
  }
  if (auto s = write_file_atomic(record_path, to_json(r)); !s) {
    fs::remove(torrent_path, ec);
    return wrap(what, s.error());
  }
  return r;
}

Result<std::vector<ImageRecord>> ImageRegistry::list() const {
  std::vector<ImageRecord> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = read_file(entry.path());
    if (!text) return text.error();
    auto r = image_record_from_json(*text);
    if (!r) return Error{"could not read " + entry.path().string() + ": " + r.error().message};
    out.push_back(std::move(*r));
  }
  if (ec) return Error{"could not list " + dir_.string() + ": " + ec.message()};
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<ImageRecord> ImageRegistry::find(const std::string& name) const {
  if (auto s = validate_image_name(name); !s) return s.error();
  const fs::path p = dir_ / (name + ".json");
  if (!fs::exists(p)) return Error{"no image named '" + name + "' is registered"};
  auto text = read_file(p);
  if (!text) return text.error();
  return image_record_from_json(*text);
}

Result<std::string> ImageRegistry::torrent_bytes(const std::string& name) const {
  if (auto s = validate_image_name(name); !s) return s.error();
  return read_file(dir_ / (name + ".torrent"));
}

Status ImageRegistry::remove(const std::string& name) const {
  if (auto s = validate_image_name(name); !s) return s.error();
  const fs::path record_path = dir_ / (name + ".json");
  if (!fs::exists(record_path)) return Error{"no image named '" + name + "' is registered"};
  std::error_code ec;
  fs::remove(record_path, ec);  // record first: without it the entry no longer exists
  if (ec) return Error{"could not remove image '" + name + "': " + ec.message()};
  fs::remove(dir_ / (name + ".torrent"), ec);
  fs::remove(dir_ / (name + ".profile"), ec);
  return {};
}

Result<std::optional<std::string>> ImageRegistry::boot_profile(const std::string& name) const {
  if (auto s = validate_image_name(name); !s) return s.error();
  if (!fs::exists(dir_ / (name + ".json"))) return Error{"no image named '" + name + "' is registered"};
  const fs::path p = dir_ / (name + ".profile");
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::optional<std::string>();
  auto text = read_file(p);
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

Status ImageRegistry::set_boot_profile(const std::string& name, const std::string& text) const {
  const std::string what = "could not store the boot profile of image '" + name + "'";
  if (auto s = validate_image_name(name); !s) return wrap(what, s.error());
  if (!fs::exists(dir_ / (name + ".json"))) return Error{what + ": no image of that name is registered"};
  if (auto s = write_file_atomic(dir_ / (name + ".profile"), text); !s) return wrap(what, s.error());
  return {};
}

Status ImageRegistry::remove_boot_profile(const std::string& name) const {
  const std::string what = "could not remove the boot profile of image '" + name + "'";
  if (auto s = validate_image_name(name); !s) return wrap(what, s.error());
  std::error_code ec;
  if (!fs::remove(dir_ / (name + ".profile"), ec)) {
    return Error{what + ": " + (ec ? ec.message() : std::string("it has none"))};
  }
  return {};
}

}  // namespace swarmboot
