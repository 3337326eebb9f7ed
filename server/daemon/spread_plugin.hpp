// libtorrent side of spread seeding (core/piece_spread.hpp): a torrent plugin on the seeder that feeds each
// peer's HAVEs and requests to the policy and sends what it decides as wire messages — HAVE to show a piece,
// lt_donthave (BEP 54) to hide one, REJECT (BEP 6) for a request of a hidden piece.
//
// Everything runs on libtorrent's network thread (plugin hooks and tick), so the policy needs no lock.
#pragma once

#include <libtorrent/extensions.hpp>
#include <memory>

#include "core/piece_spread.hpp"

namespace swarmboot::server {

// For add_torrent_params::extensions (called on libtorrent's thread: num_pieces comes from the caller).
std::shared_ptr<lt::torrent_plugin> make_spread_plugin(int num_pieces, SpreadOptions options);

}  // namespace swarmboot::server
