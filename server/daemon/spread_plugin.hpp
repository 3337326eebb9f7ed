// libtorrent side of spread seeding (core/piece_spread.hpp): a torrent plugin on the seeder that feeds each
// peer's HAVEs and requests to the policy and sends what it decides as wire messages — HAVE to show a piece,
// lt_donthave (BEP 54) to hide one, REJECT (BEP 6) for a request of a hidden piece.
//
// Everything runs on libtorrent's network thread (plugin hooks and tick), so the policy needs no lock.
#pragma once

#include <libtorrent/extensions.hpp>
#include <memory>
#include <string>

#include "core/piece_spread.hpp"

namespace swarmboot::server {

// For add_torrent_params::extensions (called on libtorrent's thread: num_pieces comes from the caller).
std::shared_ptr<lt::torrent_plugin> make_spread_plugin(int num_pieces, SpreadOptions options);

// Wire encodings (exposed for tests).
std::string encode_have(int piece);
std::string encode_dont_have(int extension_id, int piece);
std::string encode_reject(int piece, int start, int length);

}  // namespace swarmboot::server
