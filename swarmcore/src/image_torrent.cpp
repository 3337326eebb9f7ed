// Torrent creation with libtorrent's create_torrent, hashing the file ourselves so that the image name need
// not match the file's name on disk.
#include "swarmcore/image_torrent.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/torrent_info.hpp>

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

namespace swarmboot {
namespace fs = std::filesystem;

std::string_view to_string(ImageFormat f) {
  switch (f) {
    case ImageFormat::squashfs: return "squashfs";
    case ImageFormat::ext4: return "ext4";
    case ImageFormat::qcow2: return "qcow2";
    case ImageFormat::raw_disk: return "raw-disk";
  }
  return "unknown";
}

Result<ImageFormat> parse_image_format(std::string_view text) {
  for (auto f : {ImageFormat::squashfs, ImageFormat::ext4, ImageFormat::qcow2, ImageFormat::raw_disk}) {
    if (to_string(f) == text) return f;
  }
  return Error{"unknown image format '" + std::string(text) + "'"};
}

Result<ImageFormat> detect_image_format(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{"could not open " + file.string() + ": " + std::strerror(errno)};
  std::array<unsigned char, 2048> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto got = static_cast<size_t>(in.gcount());
  if (got >= 4 && std::memcmp(head.data(), "hsqs", 4) == 0) return ImageFormat::squashfs;
  if (got >= 4 && head[0] == 'Q' && head[1] == 'F' && head[2] == 'I' && head[3] == 0xfb) return ImageFormat::qcow2;
  if (got >= 1082 && head[1080] == 0x53 && head[1081] == 0xef) return ImageFormat::ext4;
  if (got >= 512 && head[510] == 0x55 && head[511] == 0xaa) return ImageFormat::raw_disk;
  return Error{file.string() + " is not an image: expected a squashfs, ext2/3/4, qcow2 or partitioned disk image"};
}

Status validate_image_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return Error{"invalid image name '" + std::string(name) + "': 1 to 64 characters"};
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) {
    return Error{"invalid image name '" + std::string(name) + "': must start with a lower-case letter or digit"};
  }
  for (char c : name) {
    if (!ok_char(c)) {
      return Error{"invalid image name '" + std::string(name) + "': only a-z, 0-9, '.', '_' and '-' are allowed"};
    }
  }
  return {};
}

Status validate_piece_size(std::int64_t piece_size) {
  if (piece_size < kMinPieceSize || piece_size > kMaxPieceSize || (piece_size & (piece_size - 1)) != 0) {
    return Error{"invalid piece size " + std::to_string(piece_size) + ": a power of two from 16 KiB to 16 MiB"};
  }
  return {};
}

std::string to_hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool is_info_hash_hex(std::string_view text) {
  if (text.size() != 40) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<ImageTorrent> create_image_torrent(const fs::path& file, std::string_view name, std::int64_t piece_size) {
  if (auto s = validate_image_name(name); !s) return s.error();
  if (auto s = validate_piece_size(piece_size); !s) return s.error();
  std::error_code ec;
  const auto size = static_cast<std::int64_t>(fs::file_size(file, ec));
  if (ec) return Error{"could not read " + file.string() + ": " + ec.message()};
  if (size == 0) return Error{file.string() + " is empty"};

  lt::file_storage storage;
  storage.add_file(std::string(name), size);
  lt::create_torrent ct(storage, static_cast<int>(piece_size), lt::create_torrent::v1_only);
  ct.set_creation_date(0);  // reproducible bytes, not only a reproducible info-hash
  ct.set_creator("swarmboot");

  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{"could not open " + file.string() + ": " + std::strerror(errno)};
  std::vector<char> buf(static_cast<size_t>(piece_size));
  for (lt::piece_index_t p(0); p < ct.end_piece(); ++p) {
    const auto want = ct.piece_size(p);
    in.read(buf.data(), want);
    if (in.gcount() != want) return Error{"could not read " + file.string() + ": it changed while being hashed"};
    ct.set_hash(p, lt::hasher(buf.data(), want).final());
  }
  ImageTorrent out;
  lt::bencode(std::back_inserter(out.bytes), ct.generate());
  out.name = std::string(name);
  out.size = size;
  out.piece_size = piece_size;
  out.num_pieces = ct.num_pieces();
  auto parsed = parse_image_torrent(std::string_view(out.bytes.data(), out.bytes.size()));
  if (!parsed) return parsed.error();
  out.info_hash = parsed->info_hash;
  return out;
}

Result<ImageTorrent> parse_image_torrent(std::string_view bytes) {
  lt::error_code ec;
  lt::torrent_info ti(lt::span<char const>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec, lt::from_span);
  if (ec) return Error{"corrupt torrent: " + ec.message()};
  if (!ti.info_hashes().has_v1()) return Error{"unsupported torrent: no v1 info-hash"};
  if (ti.num_files() != 1) {
    return Error{"unsupported torrent: it holds " + std::to_string(ti.num_files()) + " files, an image torrent holds one"};
  }
  ImageTorrent out;
  out.name = ti.name();
  if (auto s = validate_image_name(out.name); !s) return Error{"unsupported torrent: " + s.error().message};
  if (ti.files().file_path(lt::file_index_t(0)) != out.name) {
    return Error{"unsupported torrent: its file is not named after the image"};
  }
  out.size = ti.total_size();
  out.piece_size = ti.piece_length();
  out.num_pieces = ti.num_pieces();
  const auto& h = ti.info_hashes().v1;
  out.info_hash = to_hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  out.bytes.assign(bytes.begin(), bytes.end());
  return out;
}

}  // namespace swarmboot
