// Fuzzes what the tracker and the HTTP router read from the network: query strings, announce and scrape
// parameters, and the bencoded answers built from them (which must always decode as one dictionary).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/peer_selection.hpp"
#include "core/tracker_protocol.hpp"

using namespace swarmboot::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto [path, query] = split_target(text);
  (void)path;
  auto params = parse_query(query);
  if (!params) return 0;
  auto scrape = parse_scrape(*params);
  if (scrape) {
    std::vector<ScrapeEntry> entries;
    for (const auto& ih : *scrape) entries.push_back({ih, 1, 2, 3});
    const std::string out = bencode_scrape(entries);
    if (out.front() != 'd' || out.back() != 'e') std::abort();
  }
  auto announce = parse_announce(*params, 200);
  if (!announce) {
    (void)bencode_failure(announce.error().message);
    return 0;
  }
  if (announce->info_hash.size() != 20 || announce->peer_id.size() != 20 || announce->port == 0) std::abort();
  if (announce->numwant < 0 || announce->numwant > 200) std::abort();
  // Feed the parsed request through peer selection with a few peers named by the input itself.
  std::vector<PeerCandidate> peers;
  for (const auto& [k, v] : *params)
    peers.push_back({k, v, 6881, v.substr(0, 3), static_cast<std::int64_t>(k.size()), v.empty()});
  const auto chosen = select_peers(
      {announce->peer_id, query_value(*params, "ip"), "", announce->numwant, announce->left == 0}, peers);
  if (chosen.size() > static_cast<std::size_t>(announce->numwant)) std::abort();
  AnnounceResponse r;
  for (const auto& p : chosen) r.peers.push_back({p.peer_id, p.ip, p.port});
  (void)bencode_announce(r, announce->compact);
  return 0;
}
