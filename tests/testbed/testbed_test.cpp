// The test bed itself: pinned neighbours carry traffic between hosts that cannot use ARP; connections between
// hosts use cubic whatever the machine's default congestion control.
#include "testbed.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace {

using swarmboot::testbed::TestBed;

bool pings(TestBed& bed, const std::string& from, const std::string& to) {
  auto r = bed.run(from, {"busybox", "ping", "-c", "1", "-W", "2", bed.ip(to)}, std::chrono::seconds(10));
  return r && r->exit_code == 0;
}

TEST(TestBed, PinnedNeighboursReachEveryHostWithoutArp) {
  if (auto why = swarmboot::testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (!swarmboot::run_process({"busybox", "true"}).ok()) GTEST_SKIP() << "needs busybox for ping";
  auto bed_r = TestBed::create("tbpin");
  ASSERT_TRUE(bed_r.ok()) << bed_r.error().message;
  auto& bed = **bed_r;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(bed.add_host({"h" + std::to_string(i), "10.99.80." + std::to_string(i) + "/16", 0}).ok());
  }
  // With ARP off on both ends, only a pinned entry tells h1 where h3 is.
  for (const char* h : {"h1", "h3"}) {
    auto r = bed.run(h, {"ip", "link", "set", "eth0", "arp", "off"});
    ASSERT_TRUE(r && r->exit_code == 0);
  }
  EXPECT_FALSE(pings(bed, "h1", "h3")) << "reached h3 without ARP and without a pinned entry";

  ASSERT_TRUE(bed.pin_neighbours().ok());
  EXPECT_TRUE(pings(bed, "h1", "h3"));
  EXPECT_TRUE(pings(bed, "h3", "h1"));
  EXPECT_TRUE(pings(bed, "h2", "h1"));
  auto neigh = bed.run("h2", {"ip", "neigh", "show", "dev", "eth0"});
  ASSERT_TRUE(neigh && neigh->exit_code == 0);
  EXPECT_NE(neigh->output.find("10.99.80.1 lladdr 02:73:62:00:00:00 PERMANENT"), std::string::npos) << neigh->output;
  EXPECT_NE(neigh->output.find("10.99.80.3 lladdr 02:73:62:00:00:02 PERMANENT"), std::string::npos) << neigh->output;
  EXPECT_EQ(neigh->output.find("10.99.80.2 "), std::string::npos) << "a host pinned itself: " << neigh->output;
}

// The machine's default may be anything (BBR on some kernels here), and a kernel may refuse the namespace's
// sysctl for cubic: the bed sets it on the subnet's route, which both ends of a connection follow.
TEST(TestBed, ConnectionsBetweenHostsUseCubicWhateverTheMachineDefault) {
  if (auto why = swarmboot::testbed::testbed_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (!swarmboot::run_process({"busybox", "true"}).ok()) GTEST_SKIP() << "needs busybox for nc";
  auto bed_r = TestBed::create("tbcc");
  ASSERT_TRUE(bed_r.ok()) << bed_r.error().message;
  auto& bed = **bed_r;
  ASSERT_TRUE(bed.add_host({"h1", "10.99.81.1/16", 0}).ok());
  ASSERT_TRUE(bed.add_host({"h2", "10.99.81.2/16", 0}).ok());
  const std::string log = ::testing::TempDir() + "tbcc-nc.log";
  // Both ends keep stdin open: busybox nc closes the connection at its end of input.
  ASSERT_TRUE(bed.spawn("h2", {"sh", "-c", "sleep 10 | busybox nc -l -p 5001"}, log).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(bed.spawn("h1", {"sh", "-c", "sleep 10 | busybox nc " + bed.ip("h2") + " 5001"}, log).ok());

  // Both ends of the established connection, as `ss` reports their congestion control.
  std::string client, server;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = bed.run("h1", {"ss", "-Htin", "state", "established", "dport", "=", ":5001"});
    auto s = bed.run("h2", {"ss", "-Htin", "state", "established", "sport", "=", ":5001"});
    client = c && c->exit_code == 0 ? c->output : "";
    server = s && s->exit_code == 0 ? s->output : "";
    if (!client.empty() && !server.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(client.empty()) << "no connection from h1 to h2 within 8 s";
  ASSERT_FALSE(server.empty()) << "h2 shows no connection within 8 s";
  EXPECT_NE(client.find("cubic"), std::string::npos) << client;
  EXPECT_NE(server.find("cubic"), std::string::npos) << server;
}

}  // namespace
