// Integration tests: the real swarmbootd binary on 127.0.0.1 (port 0), driven over HTTP like a booting
// machine, an agent and an administrator would. Each test gets a private data folder.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "daemon_fixture.hpp"
#include "swarmcore/image_registry.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/swarm_settings.hpp"

namespace swarmboot::server::testing {
namespace {
using nlohmann::json;

std::string url_escape(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw) out += fmt::format("%{:02X}", c);
  return out;
}

std::string raw_hash(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

class SwarmbootdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "boot");
    kernel_ = write_image(dir_.path() / "boot" / "vmlinuz", 70000, 1);
    initramfs_ = write_image(dir_.path() / "boot" / "initramfs.img", 90000, 2);
    image_ = write_image(dir_.path() / "image.squashfs", 300000, 3);
  }
  void start(std::vector<std::string> extra = {}) {
    daemon_ = std::make_unique<Daemon>(dir_.path() / "data", dir_.path() / "boot", std::move(extra));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  void TearDown() override {
    if (daemon_ && HasFailure()) std::cerr << "---- swarmbootd log ----\n" << daemon_->log();
  }

  json api(const std::string& method, const std::string& target, const std::string& body = "",
           int want_status = 200, const std::string& token = kAdminToken) {
    auto r = daemon_->request(method, target, body, token);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, want_status) << method << " " << target << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  json register_image(const std::string& name = "test", std::int64_t piece_size = 16384) {
    json body = {
        {"path", (dir_.path() / "image.squashfs").string()}, {"name", name}, {"piece_size", piece_size}};
    return api("POST", "/api/v1/images", body.dump(), 201);
  }

  // A libtorrent client in this process, on loopback, with the project's LAN settings.
  static lt::session_params client_session_params() {
    SwarmTuning tuning;
    tuning.listen_interfaces = "127.0.0.1:0";
    return lt::session_params(swarm_settings(tuning));
  }
  // The server's .torrent for registered image `name`, to be saved under `folder` (ti empty on failure).
  lt::add_torrent_params client_torrent(const std::string& name = "test", const std::string& folder = "client") {
    lt::add_torrent_params atp;
    auto torrent = http_get(daemon_->url() + "/torrents/" + name + ".torrent");
    EXPECT_TRUE(torrent.ok());
    if (!torrent.ok()) return atp;
    lt::error_code ec;
    auto ti = std::make_shared<lt::torrent_info>(*torrent, ec, lt::from_span);
    EXPECT_FALSE(ec) << ec.message();
    if (!ec) atp.ti = std::move(ti);
    atp.save_path = (dir_.path() / folder).string();
    return atp;
  }

  // Polls until the client holds the whole image or `limit` passes; the last status.
  static lt::torrent_status wait_seeding(const lt::torrent_handle& h, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    lt::torrent_status st = h.status();
    while (!st.is_seeding && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      st = h.status();
    }
    return st;
  }
  // swarmboot_image_bytes_sent_total for image "test" on `channel` (bittorrent | webseed), if /metrics has it.
  std::optional<std::int64_t> bytes_sent(const std::string& channel) {
    auto metrics = http_get(daemon_->url() + "/metrics");
    std::smatch m;
    if (!metrics.ok() ||
        !std::regex_search(*metrics, m,
                           std::regex("swarmboot_image_bytes_sent_total\\{image=\"test\",channel=\"" + channel +
                                      "\"\\} (\\d+)"))) {
      return std::nullopt;
    }
    return std::stoll(m[1]);
  }

  TempDir dir_;
  std::string kernel_, initramfs_, image_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(SwarmbootdTest, BootScriptUrlsServeTheRightBytes) {
  start();
  const json image = register_image();
  api("PUT", "/api/v1/hosts/52-54-00-12-34-56", R"({"image":"test","mode":"diskless","hostname":"web01"})");
  auto script = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:12:34:56&arch=x86_64&platform=pcbios");
  ASSERT_TRUE(script.ok());
  ASSERT_EQ(script->status, 200) << script->body;
  ASSERT_EQ(script->body.rfind("#!ipxe\n", 0), 0u);

  std::smatch m;
  ASSERT_TRUE(std::regex_search(script->body, m, std::regex("kernel (http://\\S+) (.*) \\|\\| goto retry")));
  const std::string kernel_url = m[1];
  const std::string cmdline = m[2];
  ASSERT_TRUE(std::regex_search(script->body, m, std::regex("initrd --name initramfs.img (http://\\S+) ")));
  const std::string initrd_url = m[1];
  EXPECT_EQ(http_get(kernel_url).value(), kernel_);
  EXPECT_EQ(http_get(initrd_url).value(), initramfs_);

  ASSERT_TRUE(std::regex_search(cmdline, m, std::regex("swarmboot.server=(\\S+)")));
  const std::string server = m[1];
  EXPECT_EQ(server, daemon_->url());
  ASSERT_TRUE(std::regex_search(cmdline, m, std::regex("swarmboot.infohash=([0-9a-f]{40})")));
  EXPECT_EQ(m[1], image["info_hash"].get<std::string>());
  EXPECT_NE(cmdline.find("swarmboot.mac=52:54:00:12:34:56"), std::string::npos);
  EXPECT_NE(cmdline.find("swarmboot.mode=diskless"), std::string::npos);
  ASSERT_TRUE(std::regex_search(cmdline, m, std::regex("swarmboot.image=(\\S+)")));
  const std::string name = m[1];

  // The torrent the agent fetches names the same info-hash; the web seed serves the image itself.
  auto torrent = http_get(server + "/torrents/" + name + ".torrent");
  ASSERT_TRUE(torrent.ok());
  auto parsed = parse_image_torrent(*torrent);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->info_hash, image["info_hash"].get<std::string>());
  EXPECT_EQ(http_get(server + "/images/" + name).value(), image_);

  // No MAC: the chain script; it records the machine's address.
  auto chain = daemon_->request("GET", "/boot.ipxe");
  ASSERT_TRUE(chain.ok());
  EXPECT_NE(chain->body.find("chain " + daemon_->url() + "/boot.ipxe?mac=${net0/mac}"), std::string::npos);
  EXPECT_EQ(api("GET", "/api/v1/hosts/52:54:00:12:34:56")["ip"], "127.0.0.1");
}

TEST_F(SwarmbootdTest, WebSeedRangesHeadAndEtag) {
  start();
  const json image = register_image();
  const std::string etag = "\"" + image["info_hash"].get<std::string>() + "\"";
  struct Case {
    std::string range;
    int status;
    std::string body;
    std::string content_range;
  } cases[] = {
      {"bytes=0-99", 206, image_.substr(0, 100), "bytes 0-99/300000"},
      {"bytes=299990-", 206, image_.substr(299990), "bytes 299990-299999/300000"},
      {"bytes=-16", 206, image_.substr(300000 - 16), "bytes 299984-299999/300000"},
      {"bytes=16384-32767", 206, image_.substr(16384, 16384), "bytes 16384-32767/300000"},
      {"bytes=300000-", 416, "", "bytes */300000"},
  };
  for (const auto& c : cases) {
    auto r = daemon_->request("GET", "/images/test", "", "", {{"Range", c.range}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, c.status) << c.range;
    EXPECT_EQ(r->body, c.body) << c.range;
    EXPECT_EQ(r->headers["content-range"], c.content_range) << c.range;
  }
  auto head = daemon_->request("HEAD", "/images/test");
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], "300000");
  EXPECT_EQ(head->headers["etag"], etag);
  EXPECT_EQ(head->headers["accept-ranges"], "bytes");
  EXPECT_TRUE(head->body.empty());
  auto cached = daemon_->request("GET", "/images/test", "", "", {{"If-None-Match", etag}});
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->status, 304);
  // A stale If-Range means the client's copy is another file: whole body.
  auto stale =
      daemon_->request("GET", "/images/test", "", "", {{"Range", "bytes=0-9"}, {"If-Range", "\"other\""}});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->body, image_);
  // Boot files support ranges too.
  auto part = daemon_->request("GET", "/boot/vmlinuz", "", "", {{"Range", "bytes=10-19"}});
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->body, kernel_.substr(10, 10));
}

TEST_F(SwarmbootdTest, TrackerAnswersOnlyForRegisteredImages) {
  start();
  const json image = register_image();
  const std::string ih = url_escape(raw_hash(image["info_hash"]));
  auto announce = [&](const std::string& peer_id, int port, int left, const std::string& hash) {
    auto r = daemon_->request("GET", "/announce?info_hash=" + hash + "&peer_id=" + url_escape(peer_id) +
                                         "&port=" + std::to_string(port) + "&left=" + std::to_string(left) +
                                         "&compact=1&event=started");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->body : std::string();
  };
  const std::string first = announce("-XX0001-aaaaaaaaaaaa", 7001, 1000, ih);
  const std::string second = announce("-XX0001-bbbbbbbbbbbb", 7002, 1000, ih);
  lt::error_code ec;
  lt::bdecode_node n = lt::bdecode(second, ec);
  ASSERT_FALSE(ec) << second;
  EXPECT_EQ(n.dict_find_string_value("failure reason"), "");
  EXPECT_EQ(n.dict_find_int_value("interval"), 5);  // still downloading: the short interval
  EXPECT_EQ(n.dict_find_int_value("incomplete"), 2);
  const std::string peers(n.dict_find_string_value("peers"));
  // The first peer (127.0.0.1:7001) and the server's own seeder.
  ASSERT_EQ(peers.size() % 6, 0u);
  ASSERT_GE(peers.size(), 12u);
  EXPECT_EQ(peers.substr(0, 6), std::string("\x7f\x00\x00\x01\x1b\x59", 6));

  auto scrape = daemon_->request("GET", "/scrape?info_hash=" + ih);
  ASSERT_TRUE(scrape.ok());
  lt::bdecode_node s = lt::bdecode(scrape->body, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(s.dict_find_dict("files")
                .dict_find_dict(raw_hash(image["info_hash"]))
                .dict_find_int_value("incomplete"),
            2);

  // Unregistered info-hash: refused, nothing recorded.
  const std::string stranger = url_escape(std::string(20, '\x42'));
  const std::string refused =
      announce("-XX0001-cccccccccccc", 7003, 0, stranger);  // bdecode_node points into it
  lt::bdecode_node f = lt::bdecode(refused, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(f.dict_find_string_value("failure reason"), "unregistered torrent");
  auto scrape_stranger = daemon_->request("GET", "/scrape?info_hash=" + stranger);
  ASSERT_TRUE(scrape_stranger.ok());
  EXPECT_NE(scrape_stranger->body.find("failure reason"), std::string::npos);
  // Malformed announces get a bencoded failure too.
  const std::string malformed = announce("short", 0, 0, ih);
  lt::bdecode_node bad = lt::bdecode(malformed, ec);
  ASSERT_FALSE(ec);
  EXPECT_NE(bad.dict_find_string_value("failure reason"), "");

  auto metrics = http_get(daemon_->url() + "/metrics").value();
  EXPECT_NE(metrics.find("swarmboot_swarm_peers{image=\"test\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("swarmboot_tracker_announces_total 2"), std::string::npos) << metrics;
}

TEST_F(SwarmbootdTest, BadInputGets4xxAndChangesNothing) {
  start({"--max-body-bytes", "4096"});
  register_image();
  api("PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"image":"test","mode":"install"})");
  api("PUT", "/api/v1/hosts/52:54:00:00:00:02", R"({"image":"test"})");
  const json before = api("GET", "/api/v1/hosts");
  struct Case {
    std::string method, target, body, token;
    int status;
  } cases[] = {
      {"GET", "/images/../../../../etc/passwd", "", "", 404},
      {"GET", "/images/..%2f..%2f..%2fetc%2fpasswd", "", "", 404},
      {"GET", "/images/%2e%2e", "", "", 404},
      {"GET", "/boot/../state.db", "", "", 404},
      {"GET", "/boot/vmlinuz/../../state.db", "", "", 404},
      {"GET", "/torrents/../images/test.torrent", "", "", 404},
      {"GET", "/images/unknown", "", "", 404},
      {"GET", "/nothing-here", "", "", 404},
      {"POST", "/boot.ipxe", "", "", 405},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", "{not json", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"image":"test","mode":"chaos"})", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"hostname":"a;reboot"})", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"labels":{"rack":"r1\nx"}})", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"image":"not-registered"})", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/not-a-mac", R"({"image":"test"})", kAdminToken, 400},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"image":"test","mode":"diskless"})", "", 401},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"image":"test","mode":"diskless"})",
       "wrong-token-0123456789", 401},
      {"DELETE", "/api/v1/hosts/52:54:00:00:00:01", "", "", 401},
      {"POST", "/api/v1/hosts/52:54:00:00:00:01/reimage", "", "", 401},
      {"POST", "/api/v1/hosts/52:54:00:00:00:01/events", R"({"state":"installing"})", "", 401},
      {"POST", "/api/v1/hosts/52:54:00:00:00:09/events", R"({"state":"booting"})", kAdminToken, 404},
      {"POST", "/api/v1/hosts/52:54:00:00:00:01/events", R"({"state":"booting"})", kAdminToken, 409},
      {"POST", "/api/v1/hosts/52:54:00:00:00:01/events", R"({"progress":7})", kAdminToken, 400},
      {"POST", "/api/v1/images", R"({"path":"/etc/passwd","name":"passwd"})", kAdminToken, 400},
      {"POST", "/api/v1/images", R"({"path":"/nonexistent","name":"x"})", kAdminToken, 400},
      {"POST", "/api/v1/images", R"({"path":"/etc/passwd","name":"passwd"})", "", 401},
      {"DELETE", "/api/v1/images/test", "", kAdminToken, 409},
      {"PUT", "/api/v1/hosts/52:54:00:00:00:01", std::string(8000, ' ') + "{}", kAdminToken, 413},
      {"GET", "/api/v1/events?limit=abc", "", "", 400},
      {"GET", "/boot.ipxe?mac=zz:zz", "", "", 400},
      {"GET", "/boot.ipxe?mac=52:54:00:00:00:01&arch=x86%0Aecho", "", "", 400},
  };
  for (const auto& c : cases) {
    auto r = daemon_->request(c.method, c.target, c.body, c.token);
    ASSERT_TRUE(r.ok()) << c.method << " " << c.target << ": " << r.error().message;
    EXPECT_EQ(r->status, c.status) << c.method << " " << c.target << ": " << r->body;
    if (r->status >= 400 && c.method != "HEAD" && r->status != 413) {
      EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("error")) << c.target << ": " << r->body;
    }
  }
  // A host's own token is good for its own events only.
  auto script = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:02");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(script->body, m, std::regex("swarmboot.token=(\\S+)")));
  const std::string token2 = m[1];
  api("POST", "/api/v1/hosts/52:54:00:00:00:01/events", R"({"state":"installing"})", 401, token2);
  api("PUT", "/api/v1/hosts/52:54:00:00:00:01", R"({"mode":"diskless"})", 401, token2);

  EXPECT_TRUE(daemon_->running());
  json after = api("GET", "/api/v1/hosts");
  json before_cmp = before;
  for (auto* list : {&before_cmp, &after}) {
    for (auto& h : *list) {
      h.erase("last_seen");
      h.erase("ip");
    }
  }
  EXPECT_EQ(before_cmp, after);
  EXPECT_EQ(api("GET", "/api/v1/images").size(), 1u);
  auto metrics = http_get(daemon_->url() + "/metrics").value();
  EXPECT_NE(metrics.find("swarmboot_http_request_errors_total{code=\"404\"}"), std::string::npos);
}

TEST_F(SwarmbootdTest, AgentReportsMoveHostsThroughTheirStates) {
  start();
  register_image();
  api("PUT", "/api/v1/hosts/52:54:00:00:00:03",
      R"({"image":"test","mode":"diskless","labels":{"rack":"r1"}})");
  auto script = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:03");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(script->body, m, std::regex("swarmboot.token=(\\S+)")));
  const std::string token = m[1];
  const std::string events = "/api/v1/hosts/52:54:00:00:00:03/events";
  api("POST", events, R"({"state":"booting","stage":"torrent","progress":0.0})", 200, token);
  api("POST", events, R"({"stage":"switch_root","progress":0.01})", 200, token);
  api("POST", events, R"({"progress":0.08,"agent":{"state":"downloading","peers":2}})", 200, token);
  json h = api("POST", events, R"({"state":"running","stage":"booted"})", 200, token);
  EXPECT_EQ(h["state"], "running");
  EXPECT_DOUBLE_EQ(h["progress_at_switch_root"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(h["progress_at_booted"].get<double>(), 0.08);
  // Install-only states are refused for a diskless host.
  api("POST", events, R"({"state":"installed"})", 409, token);
  h = api("POST", events, R"({"state":"failed","message":"kernel panic"})", 200, token);
  EXPECT_EQ(h["reason"], "kernel panic");
  const json log = api("GET", "/api/v1/events?mac=52:54:00:00:00:03");
  ASSERT_GE(log.size(), 6u);
  EXPECT_EQ(log.back()["state"], "failed");
  EXPECT_EQ(log[3]["agent"]["peers"], 2);

  // Install: new -> installing -> installed, then the script boots the local disk until reimage.
  api("PUT", "/api/v1/hosts/52:54:00:00:00:04", R"({"image":"test","mode":"install"})");
  const std::string ev4 = "/api/v1/hosts/52:54:00:00:00:04/events";
  api("POST", ev4, R"({"state":"installing"})");
  api("POST", ev4, R"({"state":"installed","progress":1.0})");
  auto local = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:04");
  EXPECT_NE(local->body.find("\nexit\n"), std::string::npos) << local->body;
  api("POST", ev4, R"({"state":"installing"})", 409);
  // Changing the image of an installed host does not reinstall it; reimage does.
  h = api("POST", "/api/v1/hosts/52:54:00:00:00:04/reimage");
  EXPECT_EQ(h["state"], "new");
  auto again = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:04");
  EXPECT_NE(again->body.find("swarmboot.mode=install"), std::string::npos) << again->body;
  EXPECT_NE(again->body.find("swarmboot.disk=auto swarmboot.seed=120"), std::string::npos) << again->body;
  h = api("PUT", "/api/v1/hosts/52:54:00:00:00:04", R"({"disk":"/dev/vdb"})");
  EXPECT_EQ(h["disk"], "/dev/vdb");
  api("PUT", "/api/v1/hosts/52:54:00:00:00:04", R"({"disk":"/etc/passwd"})", 400);
  auto with_disk = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:04");
  EXPECT_NE(with_disk->body.find("swarmboot.disk=/dev/vdb "), std::string::npos) << with_disk->body;
  // The history tells the local-disk boot apart from the install rounds.
  const json history = api("GET", "/api/v1/events?mac=52:54:00:00:00:04");
  int local_boots = 0;
  for (const auto& e : history) local_boots += e["kind"] == "boot" && e["stage"] == "local_disk" ? 1 : 0;
  EXPECT_EQ(local_boots, 1) << history.dump(1);
  auto metrics = http_get(daemon_->url() + "/metrics").value();
  EXPECT_NE(metrics.find("swarmboot_hosts{state=\"failed\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("swarmboot_hosts{state=\"new\"} 1"), std::string::npos) << metrics;
}

TEST_F(SwarmbootdTest, UnknownMachinesFollowThePolicy) {
  start();
  register_image();
  auto later = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:aa");
  ASSERT_TRUE(later.ok());
  EXPECT_NE(later->body.find("unknown machine"), std::string::npos);
  EXPECT_NE(later->body.find("sleep 30"), std::string::npos);
  api("GET", "/api/v1/hosts/52:54:00:00:00:aa", "", 404);
  ASSERT_EQ(daemon_->stop(), 0);

  daemon_ =
      std::make_unique<Daemon>(dir_.path() / "data", dir_.path() / "boot",
                               std::vector<std::string>{"--unknown-hosts", "register", "--default-image",
                                                        "test", "--default-mode", "hypervisor"});
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  auto boot = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:aa&arch=i386");
  ASSERT_TRUE(boot.ok());
  EXPECT_NE(boot->body.find("swarmboot.mode=hypervisor"), std::string::npos) << boot->body;
  const json h = api("GET", "/api/v1/hosts/52:54:00:00:00:aa");
  EXPECT_EQ(h["state"], "new");
  EXPECT_EQ(h["image"], "test");
}

TEST_F(SwarmbootdTest, RestartKeepsAllState) {
  start();
  const json image = register_image();
  api("PUT", "/api/v1/hosts/52:54:00:00:00:05",
      R"({"image":"test","mode":"diskless","hostname":"keep","labels":{"rack":"r7"}})");
  api("POST", "/api/v1/hosts/52:54:00:00:00:05/events",
      R"({"state":"booting","stage":"switch_root","progress":0.03})");
  const std::string old_url = daemon_->url();
  auto script = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:05");
  const json hosts = api("GET", "/api/v1/hosts");
  const json events = api("GET", "/api/v1/events");
  EXPECT_EQ(daemon_->stop(), 0) << "SIGTERM must end swarmbootd cleanly";
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "seeder" /
                                      (image["info_hash"].get<std::string>() + ".resume")));

  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(api("GET", "/api/v1/hosts"), hosts);
  EXPECT_EQ(api("GET", "/api/v1/events"), events);
  EXPECT_EQ(api("GET", "/api/v1/images"), json::array({image}));
  auto again = daemon_->request("GET", "/boot.ipxe?mac=52:54:00:00:00:05");
  // Same image, same token, same script; only the (ephemeral) port differs.
  EXPECT_EQ(again->body, std::regex_replace(script->body, std::regex(old_url), daemon_->url()));
  EXPECT_EQ(http_get(daemon_->url() + "/images/test").value(), image_);
}

// `swarmboot image add --registry DATA_DIR/images` writes the registry folder while the server runs: the
// server picks new and removed images up by itself.
TEST_F(SwarmbootdTest, FollowsTheRegistryFolder) {
  start();
  ImageRegistry registry(dir_.path() / "data" / "images");
  auto added = registry.add(dir_.path() / "image.squashfs", "outside", 16384);
  ASSERT_TRUE(added.ok()) << added.error().message;
  // Assigning it right away works: the server reads the registry when it meets a name it does not know.
  api("PUT", "/api/v1/hosts/52:54:00:00:00:0a", R"({"image":"outside"})");
  api("DELETE", "/api/v1/hosts/52:54:00:00:00:0a");
  auto listed = [&] { return api("GET", "/api/v1/images").size(); };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (listed() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(listed(), 1u);
  EXPECT_EQ(http_get(daemon_->url() + "/images/outside").value(), image_);
  ASSERT_TRUE(registry.remove("outside").ok());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (listed() != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(listed(), 0u);
  EXPECT_EQ(daemon_->request("GET", "/images/outside")->status, 404);
}

// A boot profile per image: unauthenticated GET for booting hosts, admin PUT (checked against the image's
// size; a bad one changes nothing) and DELETE; unregistering the image removes it too.
TEST_F(SwarmbootdTest, StoresAndServesOneBootProfilePerImage) {
  start({"--max-body-bytes", std::to_string(8 << 20)});
  register_image();  // 300000 bytes
  const std::string url = "/images/test/profile";
  const std::string api_url = "/api/v1/images/test/profile";
  auto get = [&] { return daemon_->request("GET", url).value(); };
  auto error_of = [](const HttpResponse& r) {
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>()
                                                : std::string("(no error field)");
  };

  EXPECT_EQ(get().status, 404);
  EXPECT_EQ(error_of(get()), "image test has no boot profile");
  EXPECT_EQ(daemon_->request("GET", "/images/unknown/profile")->status, 404);
  EXPECT_EQ(error_of(daemon_->request("GET", "/images/unknown/profile").value()), "no such image");

  const json malformed = api("PUT", api_url, "0 4096\n12 abc\n", 400);
  EXPECT_NE(malformed.value("error", "").find("line 2"), std::string::npos) << malformed.dump();
  EXPECT_EQ(get().status, 404);
  const json outside = api("PUT", api_url, "0 4096\n299999 2\n", 400);
  EXPECT_NE(outside.value("error", "").find("line 2"), std::string::npos) << outside.dump();
  EXPECT_NE(outside.value("error", "").find("300000-byte image"), std::string::npos) << outside.dump();
  api("PUT", api_url, "0 4096\n", 401, "");
  api("PUT", api_url, "0 4096\n", 401, "wrong-token-0123456789");
  api("PUT", "/api/v1/images/unknown/profile", "0 4096\n", 404);
  api("POST", api_url, "0 4096\n", 405);
  EXPECT_EQ(get().status, 404);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data" / "images" / "test.profile"));

  const std::string profile = "# recorded on 52:54:00:00:00:01\n0 4096\n65536 16384\n299000 1000\n";
  const json stored = api("PUT", api_url, profile);
  EXPECT_EQ(stored.value("ranges", 0), 3);
  HttpResponse served = get();
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, profile);
  EXPECT_EQ(served.headers["content-type"].rfind("text/plain", 0), 0u) << served.headers["content-type"];
  EXPECT_EQ(daemon_->request("GET", api_url)->body, profile);

  // Bad input leaves the stored profile as it was; so does one over the 4 MiB cap.
  api("PUT", api_url, "12 abc\n", 400);
  EXPECT_EQ(daemon_->request("PUT", api_url, std::string(5 << 20, '#'), kAdminToken)->status, 413);
  EXPECT_EQ(get().body, profile);
  api("DELETE", api_url, "", 401, "");
  EXPECT_EQ(get().body, profile);

  api("DELETE", api_url);
  EXPECT_EQ(get().status, 404);
  api("DELETE", api_url, "", 404);

  // Unregistering the image removes its profile.
  api("PUT", api_url, profile);
  ASSERT_TRUE(std::filesystem::exists(dir_.path() / "data" / "images" / "test.profile"));
  api("DELETE", "/api/v1/images/test");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data" / "images" / "test.profile"));
  EXPECT_EQ(get().status, 404);
}

// SIGTERM while a large response is still being sent: the server stops accepting, finishes that response
// completely, and exits cleanly.
TEST_F(SwarmbootdTest, SigtermFinishesInFlightResponses) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  const std::string big = write_image(dir_.path() / "big.squashfs", 32u << 20, 4);
  start();
  const json body = {
      {"path", (dir_.path() / "big.squashfs").string()}, {"name", "big"}, {"piece_size", 1 << 20}};
  api("POST", "/api/v1/images", body.dump(), 201);

  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  const auto port =
      static_cast<unsigned short>(std::stoi(daemon_->url().substr(daemon_->url().rfind(':') + 1)));
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, "/images/big", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  // Read only the first bytes, so most of the 32 MiB is still on the server's side when SIGTERM arrives.
  std::array<char, 4096> first{};
  boost::system::error_code ec;
  const size_t got = asio::read(socket, asio::buffer(first), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(got, first.size());
  std::thread stopper([&] { daemon_->stop(); });
  std::string rest;
  std::array<char, 65536> chunk{};
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(chunk), ec);
    rest.append(chunk.data(), n);
    if (ec) break;
  }
  stopper.join();
  const std::string received = std::string(first.data(), got) + rest;
  const size_t header_end = received.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  EXPECT_EQ(received.size() - header_end - 4, big.size()) << "the response was cut off";
  EXPECT_TRUE(received.substr(header_end + 4) == big);
  EXPECT_EQ(daemon_->stop(), 0);
}

// A real BitTorrent client (libtorrent, in this process) that knows only the tracker URL: it must learn about
// the server's seeder from /announce and download the whole image from it, hash-checked.
TEST_F(SwarmbootdTest, LibtorrentClientDownloadsFromTheSeederViaTheTracker) {
  start();
  register_image("test", 16384);
  lt::session session(client_session_params());
  lt::add_torrent_params atp = client_torrent();
  ASSERT_TRUE(atp.ti);
  atp.trackers = {daemon_->url() + "/announce"};
  lt::torrent_handle h = session.add_torrent(std::move(atp));
  const lt::torrent_status st = wait_seeding(h, std::chrono::seconds(60));
  ASSERT_TRUE(st.is_seeding) << "progress " << st.progress << ", peers " << st.num_peers << ", error "
                             << st.errc.message();
  EXPECT_EQ(read_file(dir_.path() / "client" / "test"), image_);
  EXPECT_GT(st.total_payload_download, 0);

  // The server counts what its seeder uploaded, and no web-seed bytes were needed.
  std::optional<std::int64_t> sent = bytes_sent("bittorrent");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (sent.value_or(0) == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sent = bytes_sent("bittorrent");
  }
  ASSERT_TRUE(sent) << "no bittorrent counter for the image in /metrics";
  EXPECT_GE(*sent, 300000);
  EXPECT_FALSE(bytes_sent("webseed")) << "web-seed bytes were sent";
}

// Spread seeding (the default): host A starts with the first half of the image and fetches the rest from the
// seeder; host B, joining once A holds everything, is shown nothing by the seeder (every piece has a holder)
// and takes the whole image from A. So the seeder sends each piece once: A's half, nothing to B.
TEST_F(SwarmbootdTest, SpreadSeedingSendsEachPieceOnceAndHidesWhatAnotherHostHolds) {
  start();
  register_image("test", 16384);
  const std::size_t half = image_.size() / 2 / 16384 * 16384;
  std::filesystem::create_directories(dir_.path() / "a");
  {
    std::ofstream out(dir_.path() / "a" / "test", std::ios::binary);
    out.write(image_.data(), static_cast<std::streamsize>(half));
  }
  // Finished hosts keep their link to the seeder (as the agents do: the seeder is no seed in their eyes).
  lt::session_params params = client_session_params();
  params.settings.set_bool(lt::settings_pack::close_redundant_connections, false);
  // Payload the seeder has sent, from /metrics (refreshed about once a second): the value once it stops
  // changing for 2 s, or the last one seen after 15 s.
  const auto seeder_sent = [&] {
    std::int64_t last = -1;
    auto stable_since = std::chrono::steady_clock::now();
    const auto deadline = stable_since + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::int64_t now_sent = bytes_sent("bittorrent").value_or(-1);
      if (now_sent != last) {
        last = now_sent;
        stable_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - stable_since > std::chrono::seconds(2)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return last;
  };

  lt::session session_a(params);
  lt::add_torrent_params atp_a = client_torrent("test", "a");
  ASSERT_TRUE(atp_a.ti);
  atp_a.trackers = {daemon_->url() + "/announce"};
  lt::torrent_handle a = session_a.add_torrent(std::move(atp_a));
  lt::torrent_status st = wait_seeding(a, std::chrono::seconds(60));
  ASSERT_TRUE(st.is_seeding) << "A: progress " << st.progress << ", peers " << st.num_peers;
  const std::int64_t sent_to_a = seeder_sent();
  EXPECT_GE(sent_to_a, static_cast<std::int64_t>(image_.size() - half));
  EXPECT_LE(sent_to_a, static_cast<std::int64_t>(image_.size() - half) + 16384)
      << "the seeder sent A pieces A already had";

  // A uploads slowly, so a B that may ask the seeder would get most of the image from the seeder.
  a.set_upload_limit(40000);
  lt::session session_b(params);
  lt::add_torrent_params atp_b = client_torrent("test", "b");
  atp_b.trackers = {daemon_->url() + "/announce"};
  lt::torrent_handle b = session_b.add_torrent(std::move(atp_b));
  // The tracker stops handing out the seeder once a host holds the whole image; B is pointed at both here,
  // so that only the seeder's policy keeps it from sending B pieces.
  std::smatch port;
  const std::string log = daemon_->log();
  ASSERT_TRUE(std::regex_search(log, port, std::regex("seeding on port (\\d+)"))) << log;
  b.connect_peer({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(std::stoi(port[1]))});
  b.connect_peer({boost::asio::ip::make_address("127.0.0.1"), session_a.listen_port()});
  st = wait_seeding(b, std::chrono::seconds(60));
  ASSERT_TRUE(st.is_seeding) << "B: progress " << st.progress << ", peers " << st.num_peers;
  EXPECT_EQ(read_file(dir_.path() / "a" / "test"), image_);
  EXPECT_EQ(read_file(dir_.path() / "b" / "test"), image_);
  EXPECT_EQ(seeder_sent(), sent_to_a) << "the seeder sent B pieces A holds";
}

// BEP 19: with the seeder off and no tracker, a libtorrent client given only the web-seed URL of the contract
// (/images/NAME) downloads the whole image, hash-checked, over HTTP ranges.
TEST_F(SwarmbootdTest, LibtorrentClientDownloadsFromTheWebSeed) {
  start({"--seeder", "false"});
  register_image("test", 16384);
  lt::session session(client_session_params());
  lt::add_torrent_params atp = client_torrent();
  ASSERT_TRUE(atp.ti);
  atp.url_seeds = {daemon_->url() + "/images/test"};
  lt::torrent_handle h = session.add_torrent(std::move(atp));
  const lt::torrent_status st = wait_seeding(h, std::chrono::seconds(60));
  ASSERT_TRUE(st.is_seeding) << "progress " << st.progress << ", error " << st.errc.message();
  EXPECT_EQ(read_file(dir_.path() / "client" / "test"), image_);
  const std::optional<std::int64_t> sent = bytes_sent("webseed");
  ASSERT_TRUE(sent) << "no webseed counter for the image in /metrics";
  EXPECT_GE(*sent, 300000);
}

}  // namespace
}  // namespace swarmboot::server::testing
