// How agent reports change a host (pure rules), and the admin CLI's text rendering.
#include <gtest/gtest.h>

#include "cli/admin_view.hpp"
#include "core/host_report.hpp"

namespace swarmboot::server {
namespace {

HostEvent report(std::optional<HostState> state, std::string stage = "", std::optional<double> progress = {},
                 std::string message = "") {
  HostEvent e;
  e.state = state;
  e.stage = std::move(stage);
  e.progress = progress;
  e.message = std::move(message);
  return e;
}

TEST(ApplyHostReport, BootSequenceRecordsSwitchRootAndBootedProgress) {
  HostRecord h;
  h.mode = BootMode::diskless;
  ASSERT_TRUE(apply_host_report(h, report(HostState::booting, "torrent", 0.0)).ok());
  ASSERT_TRUE(apply_host_report(h, report({}, "switch_root", 0.004)).ok());
  ASSERT_TRUE(apply_host_report(h, report({}, "", 0.05)).ok());
  ASSERT_TRUE(apply_host_report(h, report(HostState::running, "booted")).ok());
  EXPECT_EQ(h.state, HostState::running);
  EXPECT_DOUBLE_EQ(*h.progress_at_switch_root, 0.004);
  EXPECT_DOUBLE_EQ(*h.progress_at_booted, 0.05);  // the host's progress at that moment
  // The next boot starts a new record.
  ASSERT_TRUE(apply_host_report(h, report(HostState::booting)).ok());
  EXPECT_FALSE(h.progress_at_switch_root.has_value());
  EXPECT_FALSE(h.progress_at_booted.has_value());
  EXPECT_EQ(h.progress, 0);
}

TEST(ApplyHostReport, RefusedTransitionChangesNothing) {
  HostRecord h;
  h.mode = BootMode::install;
  h.state = HostState::installed;
  h.progress = 1.0;
  const HostRecord before = h;
  EXPECT_FALSE(apply_host_report(h, report(HostState::installing, "torrent", 0.5)).ok());
  EXPECT_EQ(h.state, before.state);
  EXPECT_EQ(h.progress, before.progress);
}

TEST(ApplyHostReport, FailedKeepsAReason) {
  struct Case {
    const char* message;
    const char* reason;
  } cases[] = {{"disk full", "disk full"}, {"", "no reason given"}};
  for (const auto& c : cases) {
    HostRecord h;
    h.state = HostState::booting;
    ASSERT_TRUE(apply_host_report(h, report(HostState::failed, "", {}, c.message)).ok());
    EXPECT_EQ(h.reason, c.reason);
    ASSERT_TRUE(apply_host_report(h, report(HostState::booting)).ok());
    EXPECT_EQ(h.reason, "");
  }
}

TEST(ReimageHost, ClearsEverythingButIdentity) {
  HostRecord h;
  h.mac = "52:54:00:00:00:01";
  h.token = "tok";
  h.state = HostState::installed;
  h.progress = 1;
  h.progress_at_booted = 0.1;
  reimage_host(h);
  EXPECT_EQ(h.state, HostState::fresh);
  EXPECT_EQ(h.progress, 0);
  EXPECT_FALSE(h.progress_at_booted.has_value());
  EXPECT_EQ(h.token, "tok");
}

TEST(AdminView, ProgressBar) {
  EXPECT_EQ(cli::progress_bar(0.0, 10), "[..........]   0%");
  EXPECT_EQ(cli::progress_bar(0.35, 10), "[###.......]  35%");
  EXPECT_EQ(cli::progress_bar(1.0, 10), "[##########] 100%");
  EXPECT_EQ(cli::progress_bar(7.0, 10), "[##########] 100%");
  EXPECT_EQ(cli::progress_bar(-1.0, 10), "[..........]   0%");
}

TEST(AdminView, StatusTableShowsPercentAtSwitchRootAndBooted) {
  const auto hosts = nlohmann::json::parse(R"([
    {"mac":"52:54:00:00:00:01","hostname":"a","state":"running","progress":0.5,"last_seen":9000,
     "progress_at_switch_root":0.01,"progress_at_booted":0.12},
    {"mac":"52:54:00:00:00:02","hostname":"b","state":"new","progress":0,"last_seen":0,
     "progress_at_switch_root":null,"progress_at_booted":null}])");
  const std::string t = cli::status_table(hosts, 10000);
  EXPECT_NE(t.find("2 hosts: 1 new 1 running"), std::string::npos) << t;
  EXPECT_NE(t.find("1.0%"), std::string::npos) << t;
  EXPECT_NE(t.find("12.0%"), std::string::npos) << t;
  EXPECT_NE(t.find("1s ago"), std::string::npos) << t;
  EXPECT_NE(t.find("never"), std::string::npos) << t;
}

}  // namespace
}  // namespace swarmboot::server
