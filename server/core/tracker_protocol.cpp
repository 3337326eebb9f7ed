// Tracker wire format; see tracker_protocol.hpp.
#include "core/tracker_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace swarmboot::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return Error{"malformed query: truncated %-escape"};
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return Error{"malformed query: bad %-escape"};
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::int64_t> parse_count(const QueryParams& p, const std::string& name, bool required) {
  const auto it = p.find(name);
  if (it == p.end()) {
    if (required) return Error{"missing parameter " + name};
    return std::int64_t{0};
  }
  std::int64_t v = 0;
  const std::string& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return Error{"invalid parameter " + name};
  return v;
}

}  // namespace

Result<QueryParams> parse_query(std::string_view query) {
  QueryParams out;
  if (query.size() > 4096) return Error{"malformed query: longer than 4096 bytes"};
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    if (out.size() >= 64) return Error{"malformed query: more than 64 parameters"};
    const size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    if (!name) return name.error();
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = percent_decode(pair.substr(eq + 1));
      if (!v) return v.error();
      value = std::move(*v);
    }
    out.emplace(std::move(*name), std::move(value));
  }
  return out;
}

std::string query_value(const QueryParams& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

Result<AnnounceRequest> parse_announce(const QueryParams& p, int max_numwant) {
  AnnounceRequest r;
  r.info_hash = query_value(p, "info_hash");
  if (r.info_hash.size() != 20) return Error{"invalid info_hash: expected 20 bytes"};
  r.peer_id = query_value(p, "peer_id");
  if (r.peer_id.size() != 20) return Error{"invalid peer_id: expected 20 bytes"};
  auto port = parse_count(p, "port", true);
  if (!port) return port.error();
  if (*port < 1 || *port > 65535) return Error{"invalid port"};
  r.port = static_cast<std::uint16_t>(*port);
  auto up = parse_count(p, "uploaded", false);
  if (!up) return up.error();
  auto down = parse_count(p, "downloaded", false);
  if (!down) return down.error();
  auto left = parse_count(p, "left", false);
  if (!left) return left.error();
  r.uploaded = *up;
  r.downloaded = *down;
  r.left = *left;
  const std::string event = query_value(p, "event");
  if (event.empty() || event == "empty")
    r.event = AnnounceEvent::none;
  else if (event == "started")
    r.event = AnnounceEvent::started;
  else if (event == "stopped")
    r.event = AnnounceEvent::stopped;
  else if (event == "completed")
    r.event = AnnounceEvent::completed;
  else
    return Error{"invalid event"};
  const std::string compact = query_value(p, "compact");
  r.compact = compact != "0";
  if (p.count("numwant") != 0) {
    auto n = parse_count(p, "numwant", true);
    if (!n) return n.error();
    r.numwant = static_cast<int>(std::min<std::int64_t>(*n, max_numwant));
  } else {
    r.numwant = std::min(50, max_numwant);
  }
  return r;
}

Result<std::vector<std::string>> parse_scrape(const QueryParams& params) {
  std::vector<std::string> out;
  const auto [b, e] = params.equal_range("info_hash");
  for (auto it = b; it != e; ++it) {
    if (it->second.size() != 20) return Error{"invalid info_hash: expected 20 bytes"};
    out.push_back(it->second);
  }
  if (out.empty()) return Error{"scrape needs at least one info_hash"};
  return out;
}

std::string bencode_string(std::string_view s) {
  return std::to_string(s.size()) + ":" + std::string(s);
}
std::string bencode_int(std::int64_t v) {
  return "i" + std::to_string(v) + "e";
}

std::string bencode_announce(const AnnounceResponse& r, bool compact) {
  // Keys in sorted order, as bencoding requires.
  std::string out = "d";
  out += bencode_string("complete") + bencode_int(r.complete);
  out += bencode_string("incomplete") + bencode_int(r.incomplete);
  out += bencode_string("interval") + bencode_int(r.interval);
  out += bencode_string("min interval") + bencode_int(r.min_interval);
  out += bencode_string("peers");
  if (compact) {
    std::string packed;
    for (const auto& p : r.peers) {
      unsigned a[4];
      char tail = 0;
      if (std::sscanf(p.ip.c_str(), "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4) continue;
      if (a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255) continue;
      for (unsigned x : a) packed += static_cast<char>(x);
      packed += static_cast<char>(p.port >> 8);
      packed += static_cast<char>(p.port & 0xff);
    }
    out += bencode_string(packed);
  } else {
    out += "l";
    for (const auto& p : r.peers) {
      out += "d" + bencode_string("ip") + bencode_string(p.ip) + bencode_string("peer id") +
             bencode_string(p.peer_id) + bencode_string("port") + bencode_int(p.port) + "e";
    }
    out += "e";
  }
  out += "e";
  return out;
}

std::string bencode_failure(std::string_view reason) {
  return "d" + bencode_string("failure reason") + bencode_string(reason) + "e";
}

std::string bencode_scrape(const std::vector<ScrapeEntry>& entries) {
  std::vector<ScrapeEntry> sorted = entries;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.info_hash < b.info_hash; });
  // A dictionary may not repeat a key: a client naming one info-hash twice gets it once.
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](const auto& a, const auto& b) { return a.info_hash == b.info_hash; }),
               sorted.end());
  std::string out = "d" + bencode_string("files") + "d";
  for (const auto& e : sorted) {
    out += bencode_string(e.info_hash) + "d" + bencode_string("complete") + bencode_int(e.complete) +
           bencode_string("downloaded") + bencode_int(e.downloaded) + bencode_string("incomplete") +
           bencode_int(e.incomplete) + "e";
  }
  out += "ee";
  return out;
}

}  // namespace swarmboot::server
