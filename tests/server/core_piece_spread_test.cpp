// Spread seeding's decisions (core/piece_spread.hpp): which pieces each host is shown, and a simulated swarm in
// which the server sends every piece once.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/piece_spread.hpp"

namespace swarmboot::server {
namespace {

using namespace std::chrono_literals;
using Actions = PieceSpread::Actions;

const SpreadClock::time_point t0 = SpreadClock::time_point{} + 1h;

SpreadOptions options() {
  SpreadOptions o;
  o.rescue_after = 3s;
  o.rescue_pieces = 2;
  o.claim_expiry = 20s;
  return o;
}

// Three hosts (1, 2 hideable; 3 never told "don't have"), four pieces.
struct Three : ::testing::Test {
  PieceSpread spread{4, options()};
  Actions out;
  void SetUp() override {
    for (std::uint64_t id : {1, 2, 3}) spread.join(id, t0);
    spread.enable_hiding(1, t0, out);
    spread.enable_hiding(2, t0, out);
    EXPECT_TRUE(out.empty()) << "nothing is claimed yet, so nothing is hidden";
  }
};

TEST_F(Three, ARequestHidesThePieceFromTheOtherHostsThatCanBeTold) {
  EXPECT_TRUE(spread.request(1, 2, t0, out));
  EXPECT_EQ(out, (Actions{{2, false, 2}}));
  EXPECT_EQ(spread.sending(2), 1);
  out.clear();
  EXPECT_FALSE(spread.request(2, 2, t0, out)) << "hidden from host 2: reject";
  EXPECT_TRUE(spread.request(3, 2, t0, out)) << "host 3 cannot be told, so it is always served";
  EXPECT_TRUE(spread.request(1, 2, t0 + 1s, out)) << "the next block of the claimant's own piece";
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(spread.sending(2), 2);
}

TEST_F(Three, APieceStaysHiddenWhileAHolderIsConnectedAndReturnsWhenTheLastLeaves) {
  spread.request(1, 0, t0, out);
  spread.peer_has(1, 0, t0 + 1s, out);
  spread.peer_has(3, 0, t0 + 1s, out);
  EXPECT_EQ(out, (Actions{{2, false, 0}}));
  EXPECT_EQ(spread.holders(0), 2);
  EXPECT_EQ(spread.sending(0), 0);
  out.clear();
  spread.leave(1, out);
  EXPECT_TRUE(out.empty()) << "host 3 still holds piece 0";
  spread.leave(3, out);
  EXPECT_EQ(out, (Actions{{2, true, 0}}));
  EXPECT_TRUE(spread.request(2, 0, t0 + 2s, out));
}

TEST_F(Three, AClaimantLeavingBeforeItFinishedShowsThePieceAgain) {
  spread.request(2, 1, t0, out);
  out.clear();
  spread.leave(2, out);
  EXPECT_EQ(out, (Actions{{1, true, 1}}));
  EXPECT_EQ(spread.sending(1), 0);
}

TEST_F(Three, AClaimantCancellingItsRequestShowsThePieceAgainUntilItAsksAgain) {
  spread.request(1, 3, t0, out);
  EXPECT_EQ(out, (Actions{{2, false, 3}}));
  out.clear();
  spread.cancel(2, 3, out);  // not its claim
  spread.cancel(1, 0, out);  // nothing in flight
  spread.cancel(9, 3, out);  // unknown host
  spread.cancel(1, 99, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(spread.sending(3), 1);
  spread.cancel(1, 3, out);
  EXPECT_EQ(out, (Actions{{2, true, 3}}));
  EXPECT_EQ(spread.sending(3), 0);
  out.clear();
  spread.cancel(1, 3, out);  // the other blocks' cancels
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(spread.request(2, 3, t0 + 1s, out)) << "host 2 may now have it from the server";
  EXPECT_EQ(out, (Actions{{1, false, 3}}));
}

TEST_F(Three, AJoinerIsToldWhatIsAlreadyClaimedAndNothingElse) {
  spread.request(1, 0, t0, out);
  spread.peer_has(3, 3, t0, out);
  out.clear();
  spread.join(4, t0);
  spread.enable_hiding(4, t0, out);
  EXPECT_EQ(out, (Actions{{4, false, 0}, {4, false, 3}}));
}

TEST_F(Three, HavingAPieceTwiceOrUnknownHostsAndPiecesChangeNothing) {
  spread.peer_has(1, 1, t0, out);
  spread.peer_has(1, 1, t0, out);
  spread.peer_has(9, 1, t0, out);
  spread.peer_has(1, 7, t0, out);
  spread.peer_has(1, -1, t0, out);
  EXPECT_EQ(spread.holders(1), 1);
  EXPECT_EQ(out, (Actions{{2, false, 1}}));
  EXPECT_TRUE(spread.request(9, 1, t0, out));
  EXPECT_TRUE(spread.request(1, 99, t0, out));
}

TEST_F(Three, AStalledHostIsShownTheLeastHeldHiddenPieces) {
  // Host 1 holds 0, 1 and 2; host 3 also holds 0. Host 2 lacks everything and sees only piece 3.
  for (int p : {0, 1, 2}) spread.peer_has(1, p, t0, out);
  spread.peer_has(3, 0, t0, out);
  spread.peer_has(1, 3, t0, out);
  out.clear();
  spread.tick(t0 + 2s, out);
  EXPECT_TRUE(out.empty()) << "not stalled for 3 s yet";
  spread.tick(t0 + 3s, out);
  // Pieces 1, 2, 3 have one holder, piece 0 two: two of the single-held ones.
  ASSERT_EQ(out.size(), 2u);
  for (const auto& a : out) {
    EXPECT_EQ(a.peer, 2u);
    EXPECT_TRUE(a.show);
    EXPECT_NE(a.piece, 0);
  }
  out.clear();
  spread.tick(t0 + 4s, out);
  EXPECT_TRUE(out.empty()) << "the next rescue waits another 3 s";
}

TEST_F(Three, AHostWithAPieceInFlightIsNotRescued) {
  spread.request(2, 1, t0, out);
  for (int p : {0, 1, 2, 3}) spread.peer_has(1, p, t0, out);
  out.clear();
  spread.tick(t0 + 10s, out);
  EXPECT_TRUE(out.empty());
}

TEST(PieceSpread, AClaimWithoutRequestsExpires) {
  SpreadOptions o = options();
  o.rescue_pieces = 0;
  PieceSpread spread(4, o);
  Actions out;
  for (std::uint64_t id : {1, 2}) {
    spread.join(id, t0);
    spread.enable_hiding(id, t0, out);
  }
  spread.request(1, 0, t0, out);
  out.clear();
  spread.tick(t0 + 19s, out);
  EXPECT_TRUE(out.empty());
  spread.tick(t0 + 20s, out);
  EXPECT_EQ(spread.sending(0), 0);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), (SpreadAction{2, true, 0})) << "piece 0 is unclaimed again";
}

// BEP 3 / 10 / 6 layouts: 4-byte big-endian length, message id, then the fields, big-endian.
TEST(PieceSpreadWire, MessagesHaveTheLayoutsOfTheBeps) {
  using namespace std::string_literals;
  EXPECT_EQ(encode_have(0x01020304), "\x00\x00\x00\x05\x04\x01\x02\x03\x04"s);
  EXPECT_EQ(encode_dont_have(7, 300), "\x00\x00\x00\x06\x14\x07\x00\x00\x01\x2c"s);
  EXPECT_EQ(encode_reject(2, 16384, 16384),
            "\x00\x00\x00\x0d\x10\x00\x00\x00\x02\x00\x00\x40\x00\x00\x00\x40\x00"s);
}

// A swarm driven in random order: each host asks the server only for what it is shown, takes everything else
// from holders. Nobody leaves, so the server must send every piece exactly once, and every host must finish.
TEST(PieceSpreadSwarm, TheServerSendsEveryPieceOnceAndEveryHostFinishes) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    constexpr int kPieces = 64;
    constexpr int kHosts = 8;
    PieceSpread spread(kPieces, options());
    std::mt19937 rng(seed);
    std::vector<std::set<int>> shown(kHosts + 1), has(kHosts + 1);
    std::vector<int> in_flight(kHosts + 1, -1);
    std::vector<int> served(kPieces, 0);
    Actions out;
    const auto apply = [&] {
      for (const auto& a : out) {
        if (a.show) shown[a.peer].insert(a.piece);
        else shown[a.peer].erase(a.piece);
      }
      out.clear();
    };
    auto now = t0;
    for (std::uint64_t h = 1; h <= kHosts; ++h) {
      spread.join(h, now);
      for (int p = 0; p < kPieces; ++p) shown[h].insert(p);
      spread.enable_hiding(h, now, out);
      apply();
    }
    int steps = 0;
    const auto done = [&] {
      return std::all_of(has.begin() + 1, has.end(), [](const auto& s) { return s.size() == kPieces; });
    };
    while (!done() && steps++ < 100000) {
      now += 10ms;
      const std::uint64_t h = 1 + rng() % kHosts;
      if (in_flight[h] >= 0) {  // the server's piece arrives
        spread.peer_has(h, in_flight[h], now, out);
        has[h].insert(in_flight[h]);
        in_flight[h] = -1;
        apply();
        continue;
      }
      std::vector<int> from_server, from_peers;
      for (int p = 0; p < kPieces; ++p) {
        if (has[h].count(p)) continue;
        if (shown[h].count(p)) from_server.push_back(p);
        for (std::uint64_t o = 1; o <= kHosts; ++o) {
          if (o != h && has[o].count(p)) {
            from_peers.push_back(p);
            break;
          }
        }
      }
      if (!from_server.empty() && (from_peers.empty() || rng() % 2 == 0)) {
        const int p = from_server[rng() % from_server.size()];
        ASSERT_TRUE(spread.request(h, p, now, out));
        ++served[p];
        in_flight[h] = p;
      } else if (!from_peers.empty()) {
        const int p = from_peers[rng() % from_peers.size()];
        spread.peer_has(h, p, now, out);
        has[h].insert(p);
      }
      apply();
    }
    ASSERT_TRUE(done()) << "seed " << seed << ": the swarm did not finish";
    for (int p = 0; p < kPieces; ++p) EXPECT_EQ(served[p], 1) << "seed " << seed << ", piece " << p;
  }
}

}  // namespace
}  // namespace swarmboot::server
