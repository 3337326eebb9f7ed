// Table tests for `swarmboot-agent install`'s pure core: choosing the install disk, refusing a target too
// small, scanning a target for the pieces it already holds, the copy bookkeeping, status/report JSON and the
// command line /init passes. Targets are built from short strings ("G.xG" = good piece, empty, corrupt, good).
#include <gtest/gtest.h>

#include <libtorrent/hasher.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "agent_options.hpp"
#include "install_options.hpp"
#include "install_status.hpp"
#include "install_target.hpp"
#include "target_pieces.hpp"

using namespace swarmboot;
using namespace swarmboot::agent;

namespace {

// ---- install disk -----------------------------------------------------------------------------------------

constexpr std::int64_t kImage = 60 << 20;

struct DiskCase {
  const char* what;
  std::vector<BlockDevice> disks;
  std::string chosen;  // "" = none fits
};

TEST(InstallDisk, FirstFixedWritableDiskBigEnoughByName) {
  const std::int64_t big = 8LL << 30;
  const std::vector<DiskCase> cases = {
      {"one disk", {{"vda", false, false, big}}, "/dev/vda"},
      {"name order, not listing order", {{"vdb", false, false, big}, {"vda", false, false, big}}, "/dev/vda"},
      {"too small is skipped", {{"vda", false, false, 8 << 20}, {"vdb", false, false, big}}, "/dev/vdb"},
      {"exactly the image size fits", {{"vda", false, false, kImage}}, "/dev/vda"},
      {"removable is skipped", {{"sda", true, false, big}, {"sdb", false, false, big}}, "/dev/sdb"},
      {"read-only is skipped", {{"sda", false, true, big}, {"sdb", false, false, big}}, "/dev/sdb"},
      {"virtual devices never", {{"loop0", false, false, big}, {"ram0", false, false, big}, {"zram0", false, false, big},
                                 {"sr0", false, false, big}, {"fd0", false, false, big}, {"dm-0", false, false, big},
                                 {"md0", false, false, big}, {"nvme0n1", false, false, big}}, "/dev/nvme0n1"},
      {"nothing fits", {{"vda", false, false, 8 << 20}, {"sr0", true, true, big}}, ""},
      {"no disks", {}, ""},
  };
  for (const auto& c : cases) {
    auto r = choose_install_disk(c.disks, kImage, "debian");
    if (c.chosen.empty()) {
      EXPECT_FALSE(r.ok()) << c.what;
    } else {
      ASSERT_TRUE(r.ok()) << c.what << ": " << r.error().message;
      EXPECT_EQ(*r, c.chosen) << c.what;
    }
  }
}

TEST(InstallDisk, NoFitNamesEveryDiskAndWhy) {
  auto r = choose_install_disk({{"vdb", true, false, 1LL << 30}, {"vda", false, false, 8388608}, {"loop0", false, false, 1LL << 30}},
                               62914560, "debian");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "could not choose an install disk for image debian (62914560 bytes): vda holds 8388608 bytes, vdb "
            "removable: nothing written");
}

TEST(InstallDisk, TargetTooSmallMessage) {
  EXPECT_TRUE(check_target_fits("/dev/vda", 62914560, "debian", 62914560).ok());
  auto s = check_target_fits("/dev/vda", 8388608, "debian", 62914560);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "target /dev/vda holds 8388608 bytes; image debian needs 62914560: nothing written");
}

TEST(InstallDisk, ReadsSysBlock) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/sbsysblock-XXXXXX";
  const fs::path root = mkdtemp(tmpl);
  auto disk = [&](const std::string& name, const char* removable, const char* ro, const char* size) {
    fs::create_directories(root / name);
    std::ofstream(root / name / "removable") << removable << "\n";
    std::ofstream(root / name / "ro") << ro << "\n";
    std::ofstream(root / name / "size") << size << "\n";
  };
  disk("vda", "0", "0", "16384");
  disk("sr0", "1", "1", "0");
  fs::create_directories(root / "broken");  // attributes missing: skipped
  auto d = read_block_devices(root);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->size(), 2u);
  std::sort(d->begin(), d->end(), [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ((*d)[0].name, "sr0");
  EXPECT_TRUE((*d)[0].removable && (*d)[0].read_only);
  EXPECT_EQ((*d)[1].size_bytes, 16384 * 512);
  EXPECT_FALSE((*d)[1].removable || (*d)[1].read_only);
  fs::remove_all(root);
  EXPECT_FALSE(read_block_devices(root / "gone").ok());
}

// ---- target scan ------------------------------------------------------------------------------------------

// An image of `n` pieces of `piece` bytes (the last `last` bytes long) and its piece hashes.
struct Image {
  std::int64_t piece;
  std::string bytes;
  std::vector<std::string> hashes;
  PieceGeometry geometry() const { return PieceGeometry(static_cast<std::int64_t>(bytes.size()), piece); }
};

Image make_image(int n, std::int64_t piece, std::int64_t last) {
  Image img{piece, {}, {}};
  for (int p = 0; p < n; ++p) {
    const std::int64_t len = p == n - 1 ? last : piece;
    std::string chunk(static_cast<size_t>(len), static_cast<char>('a' + p));
    if (len > 0) chunk[0] = static_cast<char>(p);
    img.bytes += chunk;
    const lt::sha1_hash h = lt::hasher(chunk.data(), static_cast<int>(chunk.size())).final();
    img.hashes.push_back(h.to_string());
  }
  return img;
}

// A target from a string: 'G' the image's piece, '.' zeros, 'x' the piece with one byte flipped.
std::string make_target(const Image& img, const std::string& layout) {
  const PieceGeometry g = img.geometry();
  std::string t(img.bytes.size(), '\0');
  for (int p = 0; p < g.num_pieces(); ++p) {
    const auto off = static_cast<size_t>(g.piece_offset(p));
    const auto len = static_cast<size_t>(g.piece_length(p));
    if (layout[static_cast<size_t>(p)] == '.') continue;
    t.replace(off, len, img.bytes.substr(off, len));
    if (layout[static_cast<size_t>(p)] == 'x') t[off + len / 2] ^= 0x01;
  }
  return t;
}

std::string bits(const std::vector<bool>& v) {
  std::string s;
  for (bool b : v) s += b ? '1' : '0';
  return s;
}

TargetReader string_reader(const std::string& target) {
  return [&target](std::int64_t off, std::int64_t len) -> Result<std::string> {
    if (off + len > static_cast<std::int64_t>(target.size())) return Error{"end of file"};
    return target.substr(static_cast<size_t>(off), static_cast<size_t>(len));
  };
}

TEST(TargetScan, FindsExactlyThePiecesThatMatchTheirHash) {
  const Image img = make_image(6, 1024, 300);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"......", "000000"}, {"GGGGGG", "111111"}, {"G.xG.G", "100101"}, {"xxxxxx", "000000"}, {".....G", "000001"},
  };
  for (const auto& [layout, want] : cases) {
    const std::string target = make_target(img, layout);
    auto v = scan_target_pieces(img.geometry(), img.hashes, string_reader(target));
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(bits(*v), want) << layout;
  }
}

TEST(TargetScan, AnotherPieceInTheRightPlaceDoesNotCount) {
  // Two pieces swapped: each is a valid piece, but not at its offset.
  const Image img = make_image(3, 1024, 1024);
  std::string target = img.bytes;
  std::swap_ranges(target.begin(), target.begin() + 1024, target.begin() + 1024);
  auto v = scan_target_pieces(img.geometry(), img.hashes, string_reader(target));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(bits(*v), "001");
}

TEST(TargetScan, ReadErrorIsAnErrorNotAnEmptyDisk) {
  const Image img = make_image(4, 1024, 10);
  TargetReader failing = [](std::int64_t off, std::int64_t) -> Result<std::string> {
    if (off >= 2048) return Error{"Input/output error"};
    return std::string(1024, '\0');
  };
  auto v = scan_target_pieces(img.geometry(), img.hashes, failing);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message, "could not scan the target for piece 2: Input/output error");
}

TEST(TargetScan, ResumedMessage) {
  EXPECT_EQ(resumed_message(37, 64), "resumed: 37 of 64 pieces already on the target");
}

// ---- copy bookkeeping -------------------------------------------------------------------------------------

TEST(TargetPieces, CopiesOnlyWhatIsMissingAndCountsProgress) {
  const PieceGeometry g(10 * 100 + 50, 100);  // 11 pieces, the last 50 bytes
  TargetPieces t(g, 250);
  t.found({true, true, false, false, true, false, false, false, false, false, false});
  EXPECT_EQ(t.on_target(), 3);
  EXPECT_FALSE(t.needs_copy(0));
  EXPECT_TRUE(t.needs_copy(2));
  EXPECT_DOUBLE_EQ(t.progress(), 3.0 / 11);
  EXPECT_FALSE(t.want_sync());

  t.copied(2);
  t.copied(3);
  EXPECT_FALSE(t.want_sync()) << "200 unsynced bytes < 250";
  t.copied(5);
  EXPECT_TRUE(t.want_sync());
  t.synced();
  EXPECT_FALSE(t.want_sync());
  for (int p : {6, 7, 8, 9}) t.copied(p);
  t.synced();
  EXPECT_FALSE(t.complete());
  t.copied(10);
  EXPECT_TRUE(t.complete());
  EXPECT_TRUE(t.want_sync()) << "the end always syncs";
  EXPECT_EQ(t.bytes_copied(), 7 * 100 + 50);
  EXPECT_DOUBLE_EQ(t.progress(), 1.0);
  t.copied(10);  // a duplicate (resync) changes no count
  EXPECT_EQ(t.on_target(), 11);
}

// ---- status and reports -----------------------------------------------------------------------------------

TEST(InstallStatus, StatusFileIsMountModesPlusTheInstallFields) {
  InstallStatus s;
  s.agent.state = "installing";
  s.agent.image = "debian";
  s.agent.pieces_total = 4;
  s.agent.pieces_have = 2;
  s.target = "/dev/vda";
  s.pieces_on_target = 1;
  s.pieces_resumed = 1;
  s.bytes_written = 0;
  const auto j = nlohmann::json::parse(install_status_json(s));
  EXPECT_EQ(j["state"], "installing");
  EXPECT_EQ(j["target"], "/dev/vda");
  EXPECT_EQ(j["pieces_on_target"], 1);
  EXPECT_EQ(j["pieces_resumed"], 1);
  EXPECT_EQ(j["pieces_have"], 2);
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 0.25) << "progress is what is on the target";
  for (const char* k : {"bytes_from_peers", "bytes_from_webseed", "peers", "info_hash", "download_rate"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(InstallStatus, ReportsCarryTheServersInstallStates) {
  InstallStatus s;
  s.agent.pieces_total = 4;
  s.pieces_on_target = 4;
  for (const auto& [phase, host] : std::vector<std::pair<std::string, std::string>>{
           {"starting", "installing"}, {"scanning", "installing"}, {"installing", "installing"},
           {"verifying", "installing"}, {"installed", "installed"}, {"failed", "failed"}}) {
    s.agent.state = phase;
    const auto j = nlohmann::json::parse(install_report_json(s));
    EXPECT_EQ(j["state"], host) << phase;
    EXPECT_EQ(j["stage"], "install");
    EXPECT_EQ(j["agent"]["state"], phase);
  }
  s.agent.state = "failed";
  s.message = "target /dev/vda holds 8388608 bytes; image debian needs 62914560: nothing written";
  const auto j = nlohmann::json::parse(install_report_json(s));
  EXPECT_EQ(j["message"], s.message) << "the server keeps it as the host's reason";
  // Only fields the server's parse_host_event accepts.
  for (const auto& [k, v] : j.items())
    EXPECT_TRUE(k == "state" || k == "stage" || k == "progress" || k == "message" || k == "agent") << k;
}

// ---- command line -----------------------------------------------------------------------------------------

TEST(InstallOptions, TheInitramfsCommandLineParses) {
  auto c = parse_install_command_line(
      {"--torrent", "/image.torrent", "--cache", "/cache", "--target", "auto", "--tracker", "http://s/announce",
       "--webseed", "http://s/images/debian", "--report", "http://s/api/v1/hosts/m/events", "--token-file", "/token",
       "--status-file", "/status.json", "--expected-info-hash", std::string(40, 'a'), "--seed-after", "30",
       "--lt-setting", "aio_threads=1", "--listen", "6881"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& o = std::get<InstallOptions>(*c);
  EXPECT_EQ(o.target, "auto");
  EXPECT_EQ(o.seed_after, std::chrono::seconds(30));
  EXPECT_EQ(o.cache_dir, "/cache");
  EXPECT_EQ(o.listen_port, 6881);
  EXPECT_EQ(o.lt_settings.size(), 1u);
}

TEST(InstallOptions, BadCommandLinesNameTheProblem) {
  const std::vector<std::string> base = {"--torrent", "t", "--cache", "c"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return parse_install_command_line(a);
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "target"},
      {{"--target", "auto", "--seed-after", "-1"}, "--seed-after"},
      {{"--target", "auto", "--expected-info-hash", "xyz"}, "--expected-info-hash"},
      {{"--target", "auto", "--token-file", "/t"}, "--report"},
      {{"--target", "auto", "--listen", "70000"}, "--listen"},
      {{"--target", "auto", "--bogus"}, "bogus"},
  };
  for (const auto& [extra, needle] : cases) {
    auto r = with(extra);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("could not parse the command line: ", 0), 0u);
  }
  auto help = parse_install_command_line({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_NE(std::get<HelpRequest>(*help).text.find("--target"), std::string::npos);
}

// The swarm flags come from one definition (add_swarm_options/finish_swarm_options): `mount` and `install`
// accept them alike and reject the same mistakes with the same words.
TEST(InstallOptions, SwarmFlagsBehaveAsInMount) {
  const std::vector<std::vector<std::string>> bad_flags = {{"--peer", "nohost"},
                                                           {"--peer", "10.0.0.1:99999"},
                                                           {"--expected-info-hash", "xyz"},
                                                           {"--token-file", "/t"},
                                                           {"--listen", "-3"}};
  for (const auto& flags : bad_flags) {
    std::vector<std::string> mount = {"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m"};
    std::vector<std::string> install = {"--torrent", "t", "--cache", "c", "--target", "auto"};
    mount.insert(mount.end(), flags.begin(), flags.end());
    install.insert(install.end(), flags.begin(), flags.end());
    auto m = parse_command_line(mount);
    auto i = parse_install_command_line(install);
    ASSERT_FALSE(m.ok()) << flags[0];
    ASSERT_FALSE(i.ok()) << flags[0];
    EXPECT_EQ(m.error().message, i.error().message);
  }
  auto i = parse_install_command_line({"--torrent", "t", "--cache", "c", "--target", "auto", "--peer",
                                       "10.99.0.1:6881", "--peer", "[::1]:7000", "--listen-address", "10.99.0.5"});
  ASSERT_TRUE(i.ok()) << i.error().message;
  const auto& o = std::get<InstallOptions>(*i);
  ASSERT_EQ(o.peers.size(), 2u);
  EXPECT_EQ(o.peers[1].port, 7000);
  EXPECT_EQ(o.listen_address, "10.99.0.5");
}

}  // namespace
