// Image torrents and the registry: determinism, piece geometry, validation, atomic registry entries.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "swarmcore/image_registry.hpp"
#include "swarmcore/image_torrent.hpp"

namespace fs = std::filesystem;
using namespace swarmboot;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/swarmcore-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A file that looks like a squashfs image: magic, then pseudo-random bytes from `seed`.
fs::path write_fake_squashfs(const fs::path& p, size_t size, unsigned seed) {
  std::string data(size, '\0');
  std::mt19937 rng(seed);
  for (auto& c : data) c = static_cast<char>(rng());
  data.replace(0, 4, "hsqs");
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  return p;
}

}  // namespace

TEST(ImageTorrent, SameBytesGiveSameInfoHashAndTorrent) {
  TempDir dir;
  auto a = write_fake_squashfs(dir.path() / "a.img", 3 * 65536 + 100, 7);
  auto b = write_fake_squashfs(dir.path() / "b.img", 3 * 65536 + 100, 7);
  auto ta = create_image_torrent(a, "demo", 65536);
  auto tb = create_image_torrent(b, "demo", 65536);
  ASSERT_TRUE(ta.ok()) << ta.error().message;
  ASSERT_TRUE(tb.ok()) << tb.error().message;
  EXPECT_EQ(ta->info_hash, tb->info_hash);
  EXPECT_EQ(ta->bytes, tb->bytes);
  EXPECT_TRUE(is_info_hash_hex(ta->info_hash));
}

TEST(ImageTorrent, DifferentBytesOrPieceSizeGiveDifferentInfoHash) {
  TempDir dir;
  auto a = write_fake_squashfs(dir.path() / "a.img", 200000, 1);
  auto b = write_fake_squashfs(dir.path() / "b.img", 200000, 2);
  auto ta = create_image_torrent(a, "demo", 65536);
  auto tb = create_image_torrent(b, "demo", 65536);
  auto tc = create_image_torrent(a, "demo", 32768);
  ASSERT_TRUE(ta.ok() && tb.ok() && tc.ok());
  EXPECT_NE(ta->info_hash, tb->info_hash);
  EXPECT_NE(ta->info_hash, tc->info_hash);
}

TEST(ImageTorrent, PieceGeometry) {
  struct Case {
    size_t size;
    std::int64_t piece;
    int pieces;
  };
  for (const auto& c : {Case{65536, 65536, 1}, Case{65537, 65536, 2}, Case{1 << 20, 16384, 64},
                        Case{(1 << 20) + 1, 1 << 20, 2}, Case{100, 16384, 1}}) {
    TempDir dir;
    auto f = write_fake_squashfs(dir.path() / "x.img", c.size, 3);
    auto t = create_image_torrent(f, "x", c.piece);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->num_pieces, c.pieces) << c.size << "/" << c.piece;
    EXPECT_EQ(t->piece_size, c.piece);
    EXPECT_EQ(t->size, static_cast<std::int64_t>(c.size));
  }
}

TEST(ImageTorrent, DefaultPieceSizeIsOneMiB) {
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 3 << 20, 3);
  auto t = create_image_torrent(f, "x");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->piece_size, 1 << 20);
  EXPECT_EQ(t->num_pieces, 3);
}

TEST(ImageTorrent, ParseRoundTripsAndRejectsGarbage) {
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 100000, 3);
  auto t = create_image_torrent(f, "round-trip", 16384);
  ASSERT_TRUE(t.ok());
  auto p = parse_image_torrent(std::string_view(t->bytes.data(), t->bytes.size()));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->info_hash, t->info_hash);
  EXPECT_EQ(p->name, "round-trip");
  EXPECT_EQ(p->num_pieces, 7);

  EXPECT_FALSE(parse_image_torrent("not a torrent").ok());
  std::string truncated(t->bytes.data(), t->bytes.size() / 2);
  auto bad = parse_image_torrent(truncated);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("corrupt torrent"), std::string::npos);
}

TEST(ImageTorrent, ValidatesNamesAndPieceSizes) {
  for (const char* good : {"a", "debian-12", "sample_1.0", "0abc"}) EXPECT_TRUE(validate_image_name(good).ok()) << good;
  for (const char* bad : {"", "-x", ".hidden", "A", "a/b", "a b", "../etc", "x;reboot", "ä"}) {
    EXPECT_FALSE(validate_image_name(bad).ok()) << bad;
  }
  EXPECT_FALSE(validate_image_name(std::string(65, 'a')).ok());
  for (std::int64_t good : {16384, 65536, 1 << 20, 16 << 20}) EXPECT_TRUE(validate_piece_size(good).ok());
  for (std::int64_t bad : {0, 8192, 100000, 32 << 20, -1}) EXPECT_FALSE(validate_piece_size(bad).ok());
}

TEST(ImageFormatDetection, RecognisesMagicAndRejectsOther) {
  TempDir dir;
  auto sq = write_fake_squashfs(dir.path() / "s.img", 4096, 1);
  EXPECT_EQ(*detect_image_format(sq), ImageFormat::squashfs);

  std::string ext(4096, '\0');
  ext[1080] = 0x53;
  ext[1081] = static_cast<char>(0xef);
  std::ofstream(dir.path() / "e.img", std::ios::binary).write(ext.data(), 4096);
  EXPECT_EQ(*detect_image_format(dir.path() / "e.img"), ImageFormat::ext4);

  std::ofstream(dir.path() / "t.txt") << "hello, I am a text file\n";
  auto r = detect_image_format(dir.path() / "t.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is not an image"), std::string::npos);
  EXPECT_FALSE(detect_image_format(dir.path() / "missing").ok());
}

TEST(ImageRegistry, AddFindListRemove) {
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 100000, 3);
  ImageRegistry reg(dir.path() / "registry");
  auto r = reg.add(f, "sample", 16384);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->num_pieces, 7);
  EXPECT_EQ(r->format, ImageFormat::squashfs);
  EXPECT_TRUE(fs::path(r->path).is_absolute());

  auto found = reg.find("sample");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->info_hash, r->info_hash);
  auto bytes = reg.torrent_bytes("sample");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(parse_image_torrent(*bytes)->info_hash, r->info_hash);
  EXPECT_EQ(reg.list()->size(), 1u);

  ASSERT_TRUE(reg.remove("sample").ok());
  EXPECT_TRUE(reg.list()->empty());
  EXPECT_TRUE(fs::exists(f)) << "remove must never delete the image file";
  EXPECT_FALSE(reg.remove("sample").ok());
}

TEST(ImageRegistry, BootProfileIsStoredPerImageAndGoesWithIt) {
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 100000, 3);
  ImageRegistry reg(dir.path() / "registry");
  ASSERT_TRUE(reg.add(f, "sample", 16384).ok());

  ASSERT_TRUE(reg.boot_profile("sample").ok());
  EXPECT_FALSE(reg.boot_profile("sample")->has_value());
  EXPECT_FALSE(reg.boot_profile("unknown").ok());
  EXPECT_FALSE(reg.set_boot_profile("unknown", "0 1\n").ok());
  EXPECT_FALSE(fs::exists(dir.path() / "registry" / "unknown.profile"));
  auto none = reg.remove_boot_profile("sample");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("it has none"), std::string::npos) << none.error().message;

  ASSERT_TRUE(reg.set_boot_profile("sample", "# one\n0 4096\n").ok());
  ASSERT_TRUE(reg.set_boot_profile("sample", "0 8192\n").ok());  // replaces
  EXPECT_EQ(reg.boot_profile("sample")->value_or(""), "0 8192\n");
  EXPECT_EQ(reg.list()->size(), 1u) << "a profile is not an image record";
  ASSERT_TRUE(reg.remove_boot_profile("sample").ok());
  EXPECT_FALSE(reg.boot_profile("sample")->has_value());

  ASSERT_TRUE(reg.set_boot_profile("sample", "0 8192\n").ok());
  ASSERT_TRUE(reg.remove("sample").ok());
  EXPECT_FALSE(fs::exists(dir.path() / "registry" / "sample.profile"));
  EXPECT_TRUE(fs::is_empty(dir.path() / "registry"));
}

TEST(ImageRegistry, RejectsDuplicatesBadNamesAndNonImagesChangingNothing) {
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 50000, 3);
  auto g = write_fake_squashfs(dir.path() / "y.img", 50000, 4);
  ImageRegistry reg(dir.path() / "registry");
  ASSERT_TRUE(reg.add(f, "one", 16384).ok());

  auto dup_name = reg.add(g, "one", 16384);
  ASSERT_FALSE(dup_name.ok());
  EXPECT_NE(dup_name.error().message.find("already registered"), std::string::npos);
  EXPECT_FALSE(reg.add(g, "Bad Name", 16384).ok());
  std::ofstream(dir.path() / "t.txt") << "text";
  EXPECT_FALSE(reg.add(dir.path() / "t.txt", "text", 16384).ok());
  EXPECT_FALSE(reg.add(dir.path() / "missing.img", "missing", 16384).ok());

  auto all = reg.list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name, "one");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path() / "registry")) ++files;
  EXPECT_EQ(files, 2u) << "only one.torrent and one.json may exist";
}

TEST(ImageRegistry, UnwritableFolderIsAClearError) {
  if (geteuid() == 0) GTEST_SKIP() << "root can write anywhere; permission check is meaningless";
  TempDir dir;
  auto f = write_fake_squashfs(dir.path() / "x.img", 50000, 3);
  ImageRegistry reg("/proc/registry");
  EXPECT_FALSE(reg.add(f, "x", 16384).ok());
}
