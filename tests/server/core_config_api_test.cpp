// Config layering (defaults < file < environment < flags) and API body parsing, as tables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/api_json.hpp"
#include "core/config.hpp"

namespace swarmboot::server {
namespace {

class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("swarmbootd-test-" + std::to_string(getpid()) + ".conf")) {
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(Config, Defaults) {
  auto c = load_server_config({}, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->config.listen_address, "0.0.0.0");
  EXPECT_EQ(c->config.listen_port, 8080);
  EXPECT_EQ(c->config.dhcp_mode, DhcpMode::off);
  EXPECT_EQ(c->config.boot_dir, "/var/lib/swarmboot/boot");
  EXPECT_EQ(c->config.unknown_hosts, UnknownHostPolicy::retry);
  EXPECT_EQ(c->config.seeding, SeedingPolicy::spread);
  auto plain = load_server_config({"--seeding", "plain"}, {});
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->config.seeding, SeedingPolicy::plain);
}

TEST(Config, LayersFileEnvFlags) {
  ConfigFile file(
      "# comment\n"
      "data-dir = /from/file\n"
      "listen = 127.0.0.1:1111\n"
      "announce-interval = 11\n"
      "max-numwant = 22\n");
  const std::map<std::string, std::string> env = {{"SWARMBOOT_CONFIG", file.path()},
                                                  {"SWARMBOOT_LISTEN", "127.0.0.1:2222"},
                                                  {"SWARMBOOT_ANNOUNCE_INTERVAL", "33"},
                                                  {"SWARMBOOT_API_TOKEN", "secret-token-0123456789"},
                                                  {"SWARMBOOT_BUILD_DIR", "/not/ours"}};
  auto c = load_server_config({"--listen", "127.0.0.1:0"}, env);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->config.data_dir, "/from/file");  // file only
  EXPECT_EQ(c->config.max_numwant, 22);         // file only
  EXPECT_EQ(c->config.announce_interval, 33);   // env beats file
  EXPECT_EQ(c->config.listen_port, 0);          // flag beats env and file
  EXPECT_EQ(c->config.api_token, "secret-token-0123456789");
  EXPECT_EQ(c->config.boot_dir, "/from/file/boot");  // derived from the final data-dir
}

TEST(Config, FlagNamesTheConfigFile) {
  ConfigFile file("dhcp-mode = proxy\ninterface = eth1\n");
  auto c = load_server_config({"--config", file.path()}, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->config.dhcp_mode, DhcpMode::proxy);
  EXPECT_EQ(c->config.interface, "eth1");
}

TEST(Config, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  } cases[] = {
      {{"--listen", "nope"}, "--listen"},
      {{"--listen", "1.2.3.4:99999"}, "--listen"},
      {{"--dhcp-mode", "maybe"}, "--dhcp-mode"},
      {{"--dhcp-mode", "full"}, "--interface is required"},
      {{"--unknown-hosts", "register"}, "--default-image is required"},
      {{"--default-image", "Bad Name"}, "--default-image"},
      {{"--announce-interval", "0"}, "--announce-interval"},
      {{"--no-such-flag"}, "could not parse options"},
      {{"--config", "/nonexistent/swarmbootd.conf"}, "could not read config file"},
      {{"--advertise-url", "http://x/path"}, "--advertise-url"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--seeding", "super"}, "could not use --seeding 'super': expected spread or plain"},
  };
  for (const auto& c : cases) {
    auto r = load_server_config(c.args, {});
    ASSERT_FALSE(r.ok()) << c.args[0];
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
  }
  ConfigFile unknown("bogus-key = 1\n");
  EXPECT_FALSE(load_server_config({"--config", unknown.path()}, {}).ok());
}

TEST(Config, ShippedExampleParses) {
  auto c = load_server_config({"--config", SWARMBOOT_EXAMPLE_CONFIG}, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
}

TEST(Config, Help) {
  auto c = load_server_config({"--help"}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
  EXPECT_NE(c->help_text.find("--data-dir"), std::string::npos);
}

TEST(ApiJson, HostAssignment) {
  auto a = parse_host_assignment(
      R"({"hostname":"web01","image":"debian","mode":"install","labels":{"rack":"r1"}})");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*a->hostname, "web01");
  EXPECT_EQ(*a->mode, BootMode::install);
  EXPECT_EQ(a->labels->at("rack"), "r1");
  EXPECT_TRUE(parse_host_assignment("{}").ok());
  EXPECT_EQ(*parse_host_assignment(R"({"disk":"/dev/vdb"})")->disk, "/dev/vdb");
  EXPECT_EQ(*parse_host_assignment(R"({"disk":"auto"})")->disk, "");
  for (const char* bad : {"", "[]", "{", "null", R"({"hostname":"bad name"})", R"({"image":"../x"})",
                          R"({"mode":"disco"})", R"({"labels":{"rack":1}})", R"({"labels":{"Rack":"r1"}})",
                          R"({"labels":"rack=r1"})", R"({"colour":"red"})", R"({"hostname":5})",
                          R"({"disk":"vda"})", R"({"disk":"/dev/vda;reboot"})", R"({"disk":7})"}) {
    EXPECT_FALSE(parse_host_assignment(bad).ok()) << bad;
  }
}

TEST(ApiJson, HostEvent) {
  auto e = parse_host_event(
      R"({"state":"booting","stage":"switch_root","progress":0.25,"message":"hi","agent":{"peers":3}})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(*e->state, HostState::booting);
  EXPECT_EQ(e->stage, "switch_root");
  EXPECT_DOUBLE_EQ(*e->progress, 0.25);
  EXPECT_EQ(e->agent_json, R"({"peers":3})");
  for (const char* bad :
       {R"({"progress":1.5})", R"({"progress":-0.1})", R"({"progress":"half"})", R"({"state":"exploded"})",
        R"({"stage":"Has Space"})", R"({"agent":[1]})", R"({"extra":1})", "not json"}) {
    EXPECT_FALSE(parse_host_event(bad).ok()) << bad;
  }
}

TEST(ApiJson, ImageAdd) {
  auto r = parse_image_add(R"({"path":"/srv/img.squashfs","name":"debian","piece_size":65536})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->piece_size, 65536);
  for (const char* bad : {R"({"path":"rel/img","name":"x"})", R"({"path":"/x"})",
                          R"({"path":"/x","name":"A"})", R"({"path":"/x","name":"x","piece_size":1000})"}) {
    EXPECT_FALSE(parse_image_add(bad).ok()) << bad;
  }
  EXPECT_EQ(json_error("nope"), "{\"error\":\"nope\"}\n");
}

}  // namespace
}  // namespace swarmboot::server
