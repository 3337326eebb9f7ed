// Table tests for the agent's pure core: offset→piece mapping, the parked-read table, the read-ahead window,
// the write fence, the web seed fallback, status JSON and the command line. State is built from short strings
// ("1101" = pieces 0, 1, 3 readable) in the style of libtorrent's test_piece_picker.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>
#include <set>

#include "agent_options.hpp"
#include "agent_status.hpp"
#include "boot_profile.hpp"
#include "piece_bitmap.hpp"
#include "piece_geometry.hpp"
#include "piece_rescue.hpp"
#include "piece_waiters.hpp"
#include "read_ahead.hpp"
#include "session_params.hpp"
#include "webseed_fallback.hpp"
#include "write_fence.hpp"

using namespace swarmboot::agent;
using namespace std::chrono_literals;

namespace {

// ---- offset → pieces ---------------------------------------------------------------------------------------

struct MappingCase {
  std::int64_t file_size, piece_size, offset, length;
  PieceRange range;
  std::vector<PieceSpan> spans;
};

TEST(PieceGeometry, MapsReadsToPieceSpans) {
  const std::vector<MappingCase> cases = {
      // inside one piece
      {100, 10, 3, 4, {0, 0}, {{0, 3, 4}}},
      // exactly one piece
      {100, 10, 10, 10, {1, 1}, {{1, 0, 10}}},
      // crossing one boundary
      {100, 10, 8, 5, {0, 1}, {{0, 8, 2}, {1, 0, 3}}},
      // spanning three pieces
      {100, 10, 5, 20, {0, 2}, {{0, 5, 5}, {1, 0, 10}, {2, 0, 5}}},
      // short last piece, read cut at the end of the file
      {95, 10, 88, 50, {8, 9}, {{8, 8, 2}, {9, 0, 5}}},
      // last byte
      {95, 10, 94, 1, {9, 9}, {{9, 4, 1}}},
      // at and past the end: nothing
      {95, 10, 95, 10, {}, {}},
      {95, 10, 500, 10, {}, {}},
      // zero length
      {95, 10, 3, 0, {}, {}},
      // empty file
      {0, 10, 0, 10, {}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "size " << c.file_size << " piece " << c.piece_size << " read [" << c.offset
                                    << ", +" << c.length << ")");
    PieceGeometry g(c.file_size, c.piece_size);
    EXPECT_EQ(g.pieces_for(c.offset, c.length), c.range);
    EXPECT_EQ(g.spans_for(c.offset, c.length), c.spans);
  }
}

TEST(PieceGeometry, PieceCountAndLastPieceLength) {
  EXPECT_EQ(PieceGeometry(100, 10).num_pieces(), 10);
  EXPECT_EQ(PieceGeometry(101, 10).num_pieces(), 11);
  EXPECT_EQ(PieceGeometry(101, 10).piece_length(10), 1);
  EXPECT_EQ(PieceGeometry(100, 10).piece_length(9), 10);
  EXPECT_EQ(PieceGeometry(0, 10).num_pieces(), 0);
}

TEST(PieceGeometry, SpansCoverEveryRandomReadExactly) {
  std::mt19937_64 rng(7);
  PieceGeometry g(1000003, 16384);
  for (int i = 0; i < 2000; ++i) {
    const auto off = static_cast<std::int64_t>(rng() % 1100000);
    const auto len = static_cast<std::int64_t>(rng() % 200000);
    std::int64_t sum = 0, pos = off;
    for (const auto& s : g.spans_for(off, len)) {
      ASSERT_EQ(g.piece_offset(s.piece) + s.offset_in_piece, pos);
      ASSERT_GT(s.length, 0);
      ASSERT_LE(s.offset_in_piece + s.length, g.piece_length(s.piece));
      pos += s.length;
      sum += s.length;
    }
    ASSERT_EQ(sum, g.clamped_length(off, len));
  }
}

// ---- bitmap ------------------------------------------------------------------------------------------------

TEST(PieceBitmap, FromStringTestMissingCount) {
  auto b = PieceBitmap::from_string("1101");
  EXPECT_EQ(b.size(), 4);
  EXPECT_EQ(b.count(), 3);
  EXPECT_TRUE(b.test(0));
  EXPECT_FALSE(b.test(2));
  EXPECT_FALSE(b.all({0, 3}));
  EXPECT_TRUE(b.all({0, 1}));
  EXPECT_EQ(b.missing({0, 3}), std::vector<int>{2});
  EXPECT_TRUE(b.set(2));
  EXPECT_FALSE(b.set(2)) << "setting twice must report 'not new', so waiters wake once";
  EXPECT_TRUE(b.all_set());
  EXPECT_EQ(b.to_string(), "1111");
}

TEST(PieceBitmap, WordBoundaries) {
  std::string bits(130, '0');
  bits[63] = bits[64] = bits[129] = '1';
  auto b = PieceBitmap::from_string(bits);
  EXPECT_EQ(b.to_string(), bits);
  EXPECT_EQ(b.count(), 3);
  EXPECT_EQ(b.missing({62, 65}), (std::vector<int>{62, 65}));
}

// ---- parked reads ------------------------------------------------------------------------------------------

const SteadyTime t0{};

TEST(PieceWaiters, ReadCompletesWhenItsLastMissingPieceArrives) {
  struct Case {
    const char* name;
    std::vector<std::pair<ReadId, std::vector<int>>> parked;
    std::vector<int> arrivals;
    std::vector<std::vector<ReadId>> completed_per_arrival;
  };
  const std::vector<Case> cases = {
      {"one read one piece", {{1, {5}}}, {5}, {{1}}},
      {"one read two pieces, in order", {{1, {5, 6}}}, {5, 6}, {{}, {1}}},
      {"one read two pieces, reverse", {{1, {5, 6}}}, {6, 5}, {{}, {1}}},
      {"two reads share a piece", {{1, {5}}, {2, {5, 6}}}, {5, 6}, {{1}, {2}}},
      {"unrelated piece wakes nobody", {{1, {5}}}, {7, 5}, {{}, {1}}},
      {"duplicate arrival answers once", {{1, {5}}}, {5, 5}, {{1}, {}}},
      {"many readers of one piece", {{3, {2}}, {1, {2}}, {2, {2}}}, {2}, {{1, 2, 3}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PieceWaiters w;
    for (const auto& [id, missing] : c.parked) w.park(id, missing, t0, t0 + 10s);
    for (size_t i = 0; i < c.arrivals.size(); ++i) EXPECT_EQ(w.piece_readable(c.arrivals[i]), c.completed_per_arrival[i]);
    EXPECT_EQ(w.size(), 0u);
  }
}

TEST(PieceWaiters, TimeoutAndDrainAnswerEachReadOnce) {
  PieceWaiters w;
  w.park(1, {1, 2}, t0, t0 + 5s);
  w.park(2, {2}, t0 + 1s, t0 + 20s);
  w.park(3, {3}, t0 + 2s, t0 + 6s);
  EXPECT_EQ(w.oldest_parked(), t0);
  EXPECT_EQ(w.pieces_waited_on_since(t0 + 1s), (std::vector<int>{1, 2}));
  EXPECT_TRUE(w.expire(t0 + 4s).empty());
  EXPECT_EQ(w.expire(t0 + 6s), (std::vector<ReadId>{1, 3}));
  EXPECT_TRUE(w.expire(t0 + 6s).empty()) << "an expired read must not be answered again";
  EXPECT_TRUE(w.piece_readable(1).empty()) << "expired read 1 must not complete later";
  EXPECT_EQ(w.missing_of(2), std::vector<int>{2});
  w.park(4, {9}, t0 + 7s, t0 + 30s);
  EXPECT_EQ(w.drain(), (std::vector<ReadId>{2, 4}));
  EXPECT_TRUE(w.piece_readable(2).empty());
  EXPECT_TRUE(w.piece_readable(9).empty());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.oldest_parked());
}

// ---- read-ahead --------------------------------------------------------------------------------------------

TEST(ReadAhead, GrowsWithSequentialRunsAndResetsOnSeek) {
  // 64 pieces of 1000 bytes; max window 8.
  ReadAheadConfig cfg{8, 1 << 30, 100, 10, 0};
  struct Step {
    std::int64_t offset, length;
    int window;
    std::vector<Prefetch> prefetch;
  };
  const std::vector<Step> steps = {
      {5000, 500, 0, {}},                                   // first read: a seek, no read-ahead
      {5500, 500, 0, {}},                                   // sequential but still in piece 5
      {6000, 1000, 1, {{7, 100}}},                          // enters piece 6: window 1
      {7000, 1000, 2, {{8, 100}, {9, 110}}},                // doubles
      {8000, 1000, 4, {{9, 100}, {10, 110}, {11, 120}, {12, 130}}},
      {9000, 1000, 8, {{10, 100}, {11, 110}, {12, 120}, {13, 130}, {14, 140}, {15, 150}, {16, 160}, {17, 170}}},
      {10000, 1000, 8, {{11, 100}, {12, 110}, {13, 120}, {14, 130}, {15, 140}, {16, 150}, {17, 160}, {18, 170}}},
      {40000, 1000, 0, {}},                                 // seek: window collapses
      {41000, 1000, 1, {{42, 100}}},                        // a new run starts small
      {62000, 2000, 0, {}},                                 // seek to the end
      {0, 100, 0, {}},                                      // seek back to the start
  };
  ReadAhead ra(PieceGeometry(64000, 1000), cfg);
  for (const auto& s : steps) {
    SCOPED_TRACE(testing::Message() << "read at " << s.offset);
    EXPECT_EQ(ra.on_read(s.offset, s.length), s.prefetch);
    EXPECT_EQ(ra.window(), s.window);
  }
}

TEST(ReadAhead, StopsAtTheLastPieceAndHonoursByteCap) {
  ReadAheadConfig cfg{16, 3000, 0, 1, 0};  // byte cap: 3 pieces
  ReadAhead ra(PieceGeometry(10000, 1000), cfg);
  ra.on_read(5000, 1000);
  ra.on_read(6000, 1000);
  ra.on_read(7000, 1000);
  EXPECT_EQ(ra.on_read(8000, 1000), (std::vector<Prefetch>{{9, 0}}));  // window 3 but only piece 9 is left
  EXPECT_EQ(ra.window(), 3);
}

TEST(ReadAhead, SlightlyReorderedReadsStillCountAsSequential) {
  ReadAheadConfig cfg{8, 1 << 30, 100, 10, 4096};
  ReadAhead ra(PieceGeometry(1 << 20, 16384), cfg);
  ra.on_read(0, 16384);
  ra.on_read(32768, 16384);   // thread B got here first
  ra.on_read(16384, 16384);   // thread A: behind, within slack? no: 16 KiB behind, slack 4 KiB
  EXPECT_EQ(ra.window(), 0);
  ReadAhead rb(PieceGeometry(1 << 20, 16384), ReadAheadConfig{8, 1 << 30, 100, 10, 64 << 10});
  rb.on_read(0, 16384);
  rb.on_read(32768, 16384);
  rb.on_read(16384, 16384);
  EXPECT_EQ(rb.window(), 1) << "within the slack the run continues; a late read does not grow it";
  EXPECT_EQ(rb.on_read(49152, 16384), (std::vector<Prefetch>{{4, 100}, {5, 110}}));
  EXPECT_EQ(rb.window(), 2);
}

// ---- write fence (the hash-before-write trap) ----------------------------------------------------------------

// Events: "vN" piece N verified (piece_finished_alert), "F" flush issued, "D" flush done (cache_flushed_alert).
// `readable` lists what each "D" released.
TEST(WriteFence, OnlyPiecesVerifiedBeforeAFlushWasIssuedBecomeReadableWhenItCompletes) {
  struct Case {
    const char* name;
    std::vector<std::string> events;
    std::vector<std::vector<int>> released;
    std::vector<int> pending_at_end;
  };
  const std::vector<Case> cases = {
      {"verified is not readable", {"v1"}, {}, {1}},
      {"flush releases what rode it", {"v1", "v2", "F", "D"}, {{1, 2}}, {}},
      {"verified during a flush waits for the next", {"v1", "F", "v2", "D"}, {{1}}, {2}},
      {"next flush takes it", {"v1", "F", "v2", "D", "F", "D"}, {{1}, {2}}, {}},
      {"a stray flush with nothing riding releases nothing", {"D", "v3"}, {{}}, {3}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    WriteFence f;
    std::vector<std::vector<int>> released;
    for (const auto& e : c.events) {
      if (e[0] == 'v') f.piece_verified(std::stoi(e.substr(1)));
      if (e == "F") {
        ASSERT_TRUE(f.want_flush(WriteFence::Clock::now(), false));
        f.flush_issued(WriteFence::Clock::now());
        EXPECT_FALSE(f.want_flush(WriteFence::Clock::now(), true)) << "one flush at a time";
      }
      if (e == "D") released.push_back(f.flush_done());
    }
    EXPECT_EQ(released, c.released);
    EXPECT_EQ(f.pending(), c.pending_at_end);
    EXPECT_EQ(f.want_flush(WriteFence::Clock::now(), false), !c.pending_at_end.empty() && !f.flush_in_flight());
  }
}

TEST(WriteFence, WithoutAWaitingReadFlushesAreAtLeastTheIntervalApart) {
  using namespace std::chrono_literals;
  const auto start = WriteFence::Clock::now();
  WriteFence f(1000ms);
  EXPECT_FALSE(f.want_flush(start, false)) << "nothing pending";
  f.piece_verified(1);
  EXPECT_TRUE(f.want_flush(start, false)) << "the first flush need not wait";
  f.flush_issued(start);
  EXPECT_EQ(f.flush_done(), std::vector<int>{1});
  f.piece_verified(2);
  f.piece_verified(3);
  EXPECT_FALSE(f.want_flush(start + 400ms, false)) << "no read waits: wait for the interval";
  EXPECT_TRUE(f.want_flush(start + 400ms, true)) << "a read waits: flush now";
  EXPECT_TRUE(f.want_flush(start + 1000ms, false)) << "the interval is over";
  f.flush_issued(start + 1000ms);
  f.piece_verified(4);
  EXPECT_FALSE(f.want_flush(start + 1000ms, true)) << "even a waiting read does not start a second flush";
  EXPECT_EQ(f.flush_done(), (std::vector<int>{2, 3})) << "everything verified within the interval rode one flush";
  EXPECT_FALSE(f.want_flush(start + 1500ms, false));
  EXPECT_TRUE(f.want_flush(start + 2000ms, false));
  EXPECT_EQ(f.pending(), std::vector<int>{4});
}

// ---- web seed fallback -------------------------------------------------------------------------------------

TEST(WebSeedFallback, AttachesOnStallOrNoSwarmAndLingers) {
  WebSeedFallback fb(WebSeedFallbackConfig{4s, 5s, 15s});
  const auto T = [](int s) { return SteadyTime{} + std::chrono::seconds(s); };
  struct Tick {
    int t;
    std::optional<int> oldest_age_s;
    int peers;
    bool complete;
    WebSeedAction want;
  };
  const std::vector<Tick> ticks = {
      {0, std::nullopt, 3, false, WebSeedAction::none},  // healthy swarm
      {1, 2, 3, false, WebSeedAction::none},             // a read waits 2 s: give the swarm time
      {3, 4, 3, false, WebSeedAction::attach},           // 4 s: the swarm is failing this reader
      {4, 5, 3, false, WebSeedAction::none},             // stays attached
      {5, std::nullopt, 3, false, WebSeedAction::none},  // stall over, lingers
      {18, std::nullopt, 3, false, WebSeedAction::none},
      {19, std::nullopt, 3, false, WebSeedAction::detach},  // 15 s after it was last needed (t=4)
      {21, std::nullopt, 0, false, WebSeedAction::none},    // swarm gone...
      {25, std::nullopt, 0, false, WebSeedAction::none},
      {26, std::nullopt, 0, false, WebSeedAction::attach},  // ...for 5 s: web seed it is
      {30, std::nullopt, 0, true, WebSeedAction::detach},   // complete: never needed again
      {40, 100, 0, true, WebSeedAction::none},
  };
  for (const auto& k : ticks) {
    SCOPED_TRACE(testing::Message() << "t=" << k.t);
    SwarmObservation obs{T(k.t), std::nullopt, k.peers, k.complete};
    if (k.oldest_age_s) obs.oldest_parked_read_age = std::chrono::seconds(*k.oldest_age_s);
    EXPECT_EQ(fb.update(obs), k.want);
  }
}

// ---- status ------------------------------------------------------------------------------------------------

TEST(AgentStatus, JsonHasExactlyTheContractFields) {
  AgentStatus s;
  s.state = "downloading";
  s.image = "debian";
  s.info_hash = std::string(40, 'a');
  s.pieces_have = 3;
  s.pieces_total = 12;
  s.bytes_from_peers = 100;
  s.read_latency_p50_ms = 1.5;
  auto j = nlohmann::json::parse(status_json(s));
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"bytes_from_peers", "bytes_from_webseed", "bytes_uploaded", "bytes_wasted",
                                            "download_rate",
                                            "image", "info_hash", "parked_reads", "peers", "pieces_have",
                                            "pieces_total", "progress", "read_latency_ms", "state", "upload_rate"}));
  EXPECT_DOUBLE_EQ(j["progress"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["read_latency_ms"]["p50"].get<double>(), 1.5);
  auto r = nlohmann::json::parse(report_json(s));
  EXPECT_EQ(r["agent"], j);
  EXPECT_DOUBLE_EQ(r["progress"].get<double>(), 0.25);
}

TEST(AgentStatus, Percentiles) {
  EXPECT_EQ(percentile({}, 0.5), 0);
  EXPECT_EQ(percentile({5}, 0.99), 5);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 0.5), 50);
  EXPECT_EQ(percentile(v, 0.99), 99);
  EXPECT_EQ(percentile(v, 1.0), 100);
}

// ---- boot profiles -----------------------------------------------------------------------------------------

TEST(BootProfile, PiecesInTheOrderFirstTouchedEachOnce) {
  const PieceGeometry g(10 * 100, 100);  // 10 pieces of 100 bytes
  EXPECT_EQ(profile_pieces({{850, 10}, {0, 150}, {120, 10}, {399, 2}, {0, 1000}}, g),
            (std::vector<int>{8, 0, 1, 3, 4, 2, 5, 6, 7, 9}));
  EXPECT_TRUE(profile_pieces({}, g).empty());
}

TEST(BootProfile, TheRecorderWritesAReadOnlyWhenItTouchesANewPiece) {
  const PieceGeometry g(10 * 100, 100);
  ReadRecorder rec(g);
  EXPECT_TRUE(rec.record(0, 50));
  EXPECT_FALSE(rec.record(10, 20));    // piece 0 again
  EXPECT_TRUE(rec.record(90, 120));    // pieces 0-2: 1 and 2 are new
  EXPECT_FALSE(rec.record(150, 100));  // pieces 1-2
  EXPECT_TRUE(rec.record(900, 100));
  EXPECT_EQ(rec.text(), "0 50\n90 120\n900 100\n");
  // What it writes is a profile naming exactly the pieces read.
  auto ranges = swarmboot::parse_boot_profile(rec.text(), g.file_size());
  ASSERT_TRUE(ranges.ok());
  EXPECT_EQ(profile_pieces(*ranges, g), (std::vector<int>{0, 1, 2, 9}));
}

TEST(BootProfile, WhileTheMountIsReadTheBackgroundWaitsForAllButTheOverlap) {
  ProfileFirst pf({7, 2, 5, 9, 2}, 10, 1);  // 4 distinct pieces; release with one missing
  EXPECT_FALSE(pf.released());
  EXPECT_TRUE(pf.in_profile(5));
  EXPECT_FALSE(pf.in_profile(3));
  EXPECT_FALSE(pf.in_profile(10));
  EXPECT_FALSE(pf.piece_held(3, true));  // not in the profile
  EXPECT_FALSE(pf.piece_held(7, true));
  EXPECT_FALSE(pf.piece_held(7, true));  // the same piece again counts once
  EXPECT_FALSE(pf.piece_held(2, true));  // half held, but a boot is reading
  EXPECT_FALSE(pf.released());
  EXPECT_TRUE(pf.piece_held(9, true));  // one missing: release, exactly once
  EXPECT_TRUE(pf.released());
  EXPECT_FALSE(pf.piece_held(5, true));
}

TEST(BootProfile, WhileNothingReadsTheMountTheBackgroundStartsAtHalfTheProfile) {
  ProfileFirst pf({7, 2, 5, 9, 1, 4, 8, 0}, 10, 1);  // 8 distinct pieces: release with 4 missing
  EXPECT_FALSE(pf.piece_held(7, false));
  EXPECT_FALSE(pf.piece_held(2, false));
  EXPECT_FALSE(pf.piece_held(5, false));
  EXPECT_FALSE(pf.released());
  EXPECT_TRUE(pf.piece_held(9, false));
  EXPECT_TRUE(pf.released());
  EXPECT_FALSE(pf.piece_held(1, false));

  // A short profile: all but the overlap (4 missing) comes before half (3 missing).
  ProfileFirst short_one({0, 1, 2, 3, 4, 5}, 10, 4);
  EXPECT_FALSE(short_one.piece_held(0, false));
  EXPECT_TRUE(short_one.piece_held(1, false));

  // Reads that start after half the profile is in hold the background until all but the overlap.
  ProfileFirst late({7, 2, 5, 9, 1, 4, 8, 0}, 10, 1);
  EXPECT_FALSE(late.piece_held(7, false));
  EXPECT_FALSE(late.piece_held(2, false));
  EXPECT_FALSE(late.piece_held(5, false));
  EXPECT_FALSE(late.piece_held(9, true));
  EXPECT_FALSE(late.released());
}

TEST(BootProfile, AShortProfileHoldsNothingBack) {
  EXPECT_TRUE(ProfileFirst({1, 2}, 10, 2).released());
  EXPECT_TRUE(ProfileFirst({}, 10, 0).released());
  EXPECT_FALSE(ProfileFirst({1, 2, 3}, 10, 2).released());
  ProfileFirst forced({1, 2, 3}, 10, 0);
  forced.release();
  EXPECT_TRUE(forced.released());
  EXPECT_FALSE(forced.piece_held(1, true));
}

// ---- command line ------------------------------------------------------------------------------------------

TEST(AgentOptions, TheInitramfsCommandLineParses) {
  auto c = parse_command_line({"mount", "--torrent", "/run/swarmboot/deb.torrent", "--cache", "/run/swarmboot/cache",
                               "--mountpoint", "/run/swarmboot/mnt", "--tracker", "http://10.0.0.1:8080/announce",
                               "--webseed", "http://10.0.0.1:8080/images/deb", "--report",
                               "http://10.0.0.1:8080/api/v1/hosts/aa:bb:cc:dd:ee:ff/events", "--token-file",
                               "/run/swarmboot/token", "--status-file", "/run/swarmboot/status.json", "--root-daemon"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto& m = std::get<MountOptions>(*c);
  EXPECT_EQ(m.trackers, std::vector<std::string>{"http://10.0.0.1:8080/announce"});
  EXPECT_TRUE(m.root_daemon);
  EXPECT_FALSE(m.foreground);
  EXPECT_EQ(m.read_timeout, 120s);
  EXPECT_TRUE(m.boot_profile.empty());
  EXPECT_TRUE(m.record_reads.empty());
  EXPECT_EQ(m.stall_after, 2s);
  EXPECT_EQ(m.readahead_kib, 128);
  auto big = parse_command_line({"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--readahead-kib", "4096"});
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(std::get<MountOptions>(*big).readahead_kib, 4096);
}

TEST(AgentOptions, BadCommandLinesNameTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string expect_in_error;
  };
  const std::vector<Case> cases = {
      {{"mount", "--cache", "c", "--mountpoint", "m"}, "torrent"},
      {{"mount", "--torrent", "t", "--mountpoint", "m"}, "cache"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--peer", "nocolon"}, "HOST:PORT"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--peer", "h:99999"}, "port"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--listen", "70000"}, "--listen"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--expected-info-hash", "xyz"}, "info-hash"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--bogus"}, "bogus"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--readahead-kib", "2"}, "--readahead-kib"},
      {{"mount", "--torrent", "t", "--cache", "c", "--mountpoint", "m", "--readahead-kib", "70000"}, "--readahead-kib"},
      {{"seed", "--torrent", "t"}, "data"},
      {{"frobnicate"}, "unknown command"},
  };
  for (const auto& c : cases) {
    auto r = parse_command_line(c.args);
    ASSERT_FALSE(r.ok()) << c.args.back();
    EXPECT_NE(r.error().message.find(c.expect_in_error), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
  }
}

TEST(AgentOptions, HostPort) {
  EXPECT_EQ(parse_host_port("10.99.0.1:6881")->port, 6881);
  EXPECT_EQ(parse_host_port("[::1]:80")->host, "::1");
  EXPECT_FALSE(parse_host_port(":80").ok());
  EXPECT_FALSE(parse_host_port("h:").ok());
  EXPECT_FALSE(parse_host_port("h:8x").ok());
}

TEST(AgentSession, TalksToABoundedNumberOfPeersUnlessTold) {
  SwarmOptions options;
  auto params = agent_session_params(options);
  ASSERT_TRUE(params) << params.error().message;
  EXPECT_EQ(params->settings.get_int(lt::settings_pack::connections_limit), kAgentPeerLimit);
  EXPECT_EQ(params->settings.get_int(lt::settings_pack::initial_picker_threshold), 0);

  options.lt_settings = {"connections_limit=64"};
  params = agent_session_params(options);
  ASSERT_TRUE(params) << params.error().message;
  EXPECT_EQ(params->settings.get_int(lt::settings_pack::connections_limit), 64);

  options.lt_settings = {"connections_limt=64"};
  params = agent_session_params(options);
  ASSERT_FALSE(params);
  EXPECT_NE(params.error().message.find("connections_limt"), std::string::npos) << params.error().message;
}

TEST(PieceRescue, ChoosesStalledPiecesNotReadableNotInFlightWithinTheLimit) {
  PieceRescue rescue(3);
  const std::set<int> readable = {2};
  auto is_readable = [&](int p) { return readable.count(p) != 0; };
  EXPECT_EQ(rescue.choose({1, 2, 3, 4, 5}, is_readable), (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(rescue.in_flight(), 3);
  EXPECT_TRUE(rescue.choose({5, 6}, is_readable).empty()) << "no more than 3 fetches at once";
  rescue.finished(3);
  EXPECT_EQ(rescue.choose({1, 3, 5}, is_readable), (std::vector<int>{3})) << "1 is in flight; 3 failed and may retry";
  rescue.finished(1);
  rescue.finished(3);
  rescue.finished(4);
  EXPECT_EQ(rescue.choose({5}, is_readable), (std::vector<int>{5}));
}

}  // namespace
