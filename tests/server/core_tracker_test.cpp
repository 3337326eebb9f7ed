// Tracker wire format (checked by decoding our answers with libtorrent's own bdecode) and the
// locality-aware peer choice, as tables.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <libtorrent/bdecode.hpp>

#include "core/http_range.hpp"
#include "core/peer_selection.hpp"
#include "core/tracker_protocol.hpp"

namespace swarmboot::server {
namespace {

TEST(ParseQuery, Table) {
  auto q = parse_query("a=1&b=%41%42+c&&flag&a=2");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->count("a"), 2u);
  EXPECT_EQ(query_value(*q, "a"), "1");
  EXPECT_EQ(query_value(*q, "b"), "AB c");
  EXPECT_EQ(q->count("flag"), 1u);
  EXPECT_EQ(query_value(*q, "flag"), "");
  // Binary-safe: %00 stays a byte.
  auto bin = parse_query("x=%00%ff");
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(query_value(*bin, "x"), std::string("\0\xff", 2));
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "%g0=1"}) EXPECT_FALSE(parse_query(bad).ok()) << bad;
  std::string many;
  for (int i = 0; i < 65; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_FALSE(parse_query(many).ok());
  EXPECT_FALSE(parse_query(std::string(5000, 'a')).ok());
}

std::string escape20(char c) {
  std::string out;
  for (int i = 0; i < 20; ++i) out += fmt::format("%{:02x}", static_cast<unsigned char>(c));
  return out;
}

TEST(ParseAnnounce, Table) {
  const std::string ih = escape20('\x11');
  const std::string pid = escape20('\x22');
  struct Case {
    std::string query;
    bool ok;
  } cases[] = {
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=6881&left=100&event=started", true},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=6881", true},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=0", false},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=70000", false},
      {"info_hash=" + ih + "&peer_id=" + pid, false},
      {"info_hash=abc&peer_id=" + pid + "&port=1", false},
      {"info_hash=" + ih + "&peer_id=short&port=1", false},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=1&left=-5", false},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=1&left=12x", false},
      {"info_hash=" + ih + "&peer_id=" + pid + "&port=1&event=exploded", false},
  };
  for (const auto& c : cases) {
    auto q = parse_query(c.query);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(parse_announce(*q).ok(), c.ok) << c.query;
  }
  auto q =
      parse_query("info_hash=" + ih + "&peer_id=" + pid + "&port=6881&left=7&event=completed&numwant=999");
  auto a = parse_announce(*q, 200);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->info_hash, std::string(20, '\x11'));
  EXPECT_EQ(a->port, 6881);
  EXPECT_EQ(a->left, 7);
  EXPECT_EQ(a->event, AnnounceEvent::completed);
  EXPECT_EQ(a->numwant, 200);
  EXPECT_TRUE(a->compact);
}

TEST(Bencode, CompactAnnounceDecodesWithLibtorrent) {
  AnnounceResponse r;
  r.interval = 5;
  r.min_interval = 2;
  r.complete = 1;
  r.incomplete = 2;
  r.peers = {{"a", "10.99.0.2", 6881}, {"b", "192.168.1.255", 65535}, {"c", "fe80::1", 1}};
  const std::string body = bencode_announce(r, true);
  lt::error_code ec;
  lt::bdecode_node n = lt::bdecode(body, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(n.dict_find_int_value("interval"), 5);
  EXPECT_EQ(n.dict_find_int_value("min interval"), 2);
  EXPECT_EQ(n.dict_find_int_value("complete"), 1);
  EXPECT_EQ(n.dict_find_int_value("incomplete"), 2);
  // IPv6 peers have no place in a BEP 23 compact IPv4 list.
  const std::string want("\x0a\x63\x00\x02\x1a\xe1\xc0\xa8\x01\xff\xff\xff", 12);
  EXPECT_EQ(std::string(n.dict_find_string_value("peers")), want);
}

TEST(Bencode, NonCompactFailureAndScrape) {
  AnnounceResponse r;
  r.peers = {{std::string(20, 'p'), "10.0.0.1", 80}};
  lt::error_code ec;
  const std::string body = bencode_announce(r, false);  // bdecode_node points into it
  auto n = lt::bdecode(body, ec);
  ASSERT_FALSE(ec);
  auto peers = n.dict_find_list("peers");
  ASSERT_EQ(peers.list_size(), 1);
  EXPECT_EQ(peers.list_at(0).dict_find_string_value("ip"), "10.0.0.1");
  EXPECT_EQ(peers.list_at(0).dict_find_int_value("port"), 80);

  const std::string failure = bencode_failure("unregistered torrent");
  auto f = lt::bdecode(failure, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(f.dict_find_string_value("failure reason"), "unregistered torrent");

  const std::string b = bencode_scrape(
      {{std::string(20, 'b'), 3, 4, 5}, {std::string(20, 'a'), 1, 0, 2}, {std::string(20, 'a'), 1, 0, 2}});
  auto s = lt::bdecode(b, ec);
  ASSERT_FALSE(ec) << b;
  auto files = s.dict_find_dict("files");
  ASSERT_EQ(files.dict_size(), 2);
  EXPECT_EQ(files.dict_find_dict(std::string(20, 'b')).dict_find_int_value("incomplete"), 5);
  EXPECT_EQ(files.dict_find_dict(std::string(20, 'a')).dict_find_int_value("complete"), 1);
}

// Peers are written as "<id>@<ip>/<rack>#<joined>" so tables stay readable.
PeerCandidate peer(const std::string& spec, bool seed = false) {
  PeerCandidate p;
  const auto at = spec.find('@');
  const auto slash = spec.find('/');
  const auto hash = spec.find('#');
  p.peer_id = spec.substr(0, at);
  p.ip = spec.substr(at + 1, slash - at - 1);
  p.rack = spec.substr(slash + 1, hash - slash - 1);
  p.joined_ms = std::stoll(spec.substr(hash + 1));
  p.port = 6881;
  p.seed = seed;
  return p;
}

std::string ids(const std::vector<PeerCandidate>& peers) {
  std::string out;
  for (const auto& p : peers) out += (out.empty() ? "" : ",") + p.peer_id;
  return out;
}

TEST(SelectPeers, Table) {
  const std::vector<PeerCandidate> swarm = {
      peer("a1@10.0.1.1/r1#1"), peer("a2@10.0.1.2/r1#2"), peer("a3@10.0.1.3/r1#3"), peer("a4@10.0.1.4/r1#4"),
      peer("b1@10.0.2.1/r2#5"), peer("b2@10.0.2.2/r2#6"), peer("me@10.0.1.9/r1#7"),
  };
  struct Case {
    const char* what;
    PeerQuery query;
    std::string want;
  } cases[] = {
      // Same rack first, newest first, but one of four slots goes to another rack.
      {"rack r1 wants 4", {"me", "10.0.1.9", "r1", 4, false}, "a4,a3,a2,b2"},
      {"rack r2 wants 4", {"x", "10.0.2.9", "r2", 4, false}, "b2,b1,me,a4"},
      {"wants all", {"me", "10.0.1.9", "r1", 50, false}, "a4,a3,a2,a1,b2,b1"},
      {"wants 1: nearest only", {"me", "10.0.1.9", "r1", 1, false}, "a4"},
      {"wants 0", {"me", "10.0.1.9", "r1", 0, false}, ""},
      // No rack label: the /24 decides.
      {"subnet when no rack", {"x", "10.0.2.50", "", 3, false}, "b2,b1,me"},
      // A rack nobody else is in still gets everyone (far peers fill the slots).
      {"lonely rack", {"x", "10.0.9.1", "r9", 3, false}, "me,b2,b1"},
      {"wants 8 of 6", {"me", "10.0.1.9", "r1", 8, false}, "a4,a3,a2,a1,b2,b1"},
  };
  for (const auto& c : cases) EXPECT_EQ(ids(select_peers(c.query, swarm)), c.want) << c.what;
}

TEST(SelectPeers, SeedsGetNoSeeds) {
  const std::vector<PeerCandidate> swarm = {peer("s1@10.0.1.1/r1#1", true), peer("d1@10.0.1.2/r1#2"),
                                            peer("s2@10.0.2.1/r2#3", true)};
  EXPECT_EQ(ids(select_peers({"me", "10.0.1.9", "r1", 10, true}, swarm)), "d1");
  EXPECT_EQ(ids(select_peers({"me", "10.0.1.9", "r1", 10, false}, swarm)), "d1,s1,s2");
}

TEST(OfferOrigin, OnlyToDownloadersWhileNoOtherHostHoldsTheImage) {
  struct Case {
    bool announcer_is_seed;
    int other_seeds;
    bool origin_running;
    bool offered;
  };
  for (const auto& c : {Case{false, 0, true, true},    // first hosts: only the origin has the image
                        Case{false, 1, true, false},   // a host holds it: the swarm serves the newcomer
                        Case{false, 5, true, false},
                        Case{true, 0, true, false},    // a seed needs nothing
                        Case{false, 0, false, false}}) {  // no seeder running
    EXPECT_EQ(offer_origin(c.announcer_is_seed, c.other_seeds, c.origin_running), c.offered)
        << c.announcer_is_seed << " " << c.other_seeds << " " << c.origin_running;
  }
}

TEST(DecideRange, Table) {
  using K = RangeDecision::Kind;
  struct Case {
    const char* header;
    std::int64_t size;
    K kind;
    std::int64_t offset, length;
  } cases[] = {
      {"", 1000, K::full, 0, 1000},
      {"bytes=0-99", 1000, K::partial, 0, 100},
      {"bytes=100-", 1000, K::partial, 100, 900},
      {"bytes=-10", 1000, K::partial, 990, 10},
      {"bytes=-5000", 1000, K::partial, 0, 1000},
      {"bytes=990-5000", 1000, K::partial, 990, 10},
      {"bytes=1000-", 1000, K::unsatisfiable, 0, 0},
      {"bytes=-0", 1000, K::unsatisfiable, 0, 0},
      {"bytes=5-1", 1000, K::full, 0, 1000},
      {"bytes=0-1,5-6", 1000, K::full, 0, 1000},
      {"items=0-1", 1000, K::full, 0, 1000},
      {"bytes=abc", 1000, K::full, 0, 1000},
      {"bytes=99999999999999999999-", 1000, K::full, 0, 1000},
  };
  for (const auto& c : cases) {
    const auto d = decide_range(c.header, c.size);
    EXPECT_EQ(d.kind, c.kind) << c.header;
    if (d.kind == c.kind) {
      EXPECT_EQ(d.offset, c.offset) << c.header;
      EXPECT_EQ(d.length, c.length) << c.header;
    }
  }
}

}  // namespace
}  // namespace swarmboot::server
