// The BitTorrent tracker's wire format, as pure functions: HTTP query strings (binary-safe percent
// decoding), BEP 3 announce and scrape parameters, and bencoded answers (compact peers per BEP 23). These
// parse untrusted network input and are fuzzed (tests/server/fuzz).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot::server {

// name -> values in order of appearance. Names and values are percent-decoded ('+' is a space).
using QueryParams = std::multimap<std::string, std::string>;

// Parses "a=1&b=%20x". Fails on malformed escapes, or more than 64 parameters / 4 KiB of query.
Result<QueryParams> parse_query(std::string_view query);

// The first value of `name`, or empty.
std::string query_value(const QueryParams& params, const std::string& name);

// Splits an HTTP target into path and query ("/announce?x=1" -> "/announce", "x=1").
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

enum class AnnounceEvent { none, started, stopped, completed };

struct AnnounceRequest {
  std::string info_hash;  // 20 raw bytes
  std::string peer_id;    // 20 raw bytes
  std::uint16_t port = 0;
  std::int64_t uploaded = 0;
  std::int64_t downloaded = 0;
  std::int64_t left = 0;
  AnnounceEvent event = AnnounceEvent::none;
  bool compact = true;
  int numwant = 50;  // clamped to [0, max_numwant]
};

// Validates the BEP 3 parameters. numwant defaults to 50 and is clamped to max_numwant.
Result<AnnounceRequest> parse_announce(const QueryParams& params, int max_numwant = 200);

// Scrape: every info_hash parameter (20 raw bytes each); none means "all", which we refuse (not needed).
Result<std::vector<std::string>> parse_scrape(const QueryParams& params);

struct AnnouncePeer {
  std::string peer_id;
  std::string ip;  // dotted IPv4 (non-IPv4 peers are left out of compact answers)
  std::uint16_t port = 0;
};

struct AnnounceResponse {
  int interval = 60;
  int min_interval = 5;
  int complete = 0;    // seeds
  int incomplete = 0;  // downloaders
  std::vector<AnnouncePeer> peers;
};

std::string bencode_announce(const AnnounceResponse& response, bool compact);
std::string bencode_failure(std::string_view reason);

struct ScrapeEntry {
  std::string info_hash;  // 20 raw bytes
  int complete = 0;
  int downloaded = 0;
  int incomplete = 0;
};
std::string bencode_scrape(const std::vector<ScrapeEntry>& entries);

// Bencoding primitives (exposed for tests).
std::string bencode_string(std::string_view s);
std::string bencode_int(std::int64_t v);

}  // namespace swarmboot::server
