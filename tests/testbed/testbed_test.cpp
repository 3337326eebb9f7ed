// The test bed itself: pinned neighbours carry traffic between hosts that cannot use ARP.
#include "testbed.hpp"

#include <gtest/gtest.h>

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

}  // namespace
