// Spread seeding on the wire; see spread_plugin.hpp.
#include "daemon/spread_plugin.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <map>

namespace swarmboot::server {
namespace {

class SpreadTorrent : public lt::torrent_plugin, public std::enable_shared_from_this<SpreadTorrent> {
 public:
  SpreadTorrent(int num_pieces, SpreadOptions options) : policy_(num_pieces, options) {}

  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override;

  void tick() override {
    apply([&](PieceSpread::Actions& out) { policy_.tick(SpreadClock::now(), out); });
  }

  // Called by the peer plugins (same thread).
  void joined(std::uint64_t id, const lt::peer_connection_handle& pc) {
    conns_.insert_or_assign(id, Conn{pc, 0});
    policy_.join(id, SpreadClock::now());
  }
  void hideable(std::uint64_t id, int dont_have_id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    it->second.dont_have_id = dont_have_id;
    apply([&](PieceSpread::Actions& out) { policy_.enable_hiding(id, SpreadClock::now(), out); });
  }
  void left(std::uint64_t id) {
    conns_.erase(id);
    apply([&](PieceSpread::Actions& out) { policy_.leave(id, out); });
  }
  void has(std::uint64_t id, int piece) {
    apply([&](PieceSpread::Actions& out) { policy_.peer_has(id, piece, SpreadClock::now(), out); });
  }
  void cancel(std::uint64_t id, int piece) {
    apply([&](PieceSpread::Actions& out) { policy_.cancel(id, piece, out); });
  }
  void has_all(std::uint64_t id) {
    apply([&](PieceSpread::Actions& out) { policy_.peer_has_all(id, SpreadClock::now(), out); });
  }
  bool request(std::uint64_t id, int piece) {
    bool serve = true;
    apply([&](PieceSpread::Actions& out) { serve = policy_.request(id, piece, SpreadClock::now(), out); });
    return serve;
  }

 private:
  struct Conn {
    lt::peer_connection_handle handle;
    int dont_have_id = 0;
  };

  // Runs one policy event and sends the messages it decided on.
  template <class Event>
  void apply(Event&& event) {
    PieceSpread::Actions actions;
    event(actions);
    for (const auto& a : actions) {
      auto it = conns_.find(a.peer);
      // on_disconnect removes a peer, but a handle to a destroyed connection must never be dereferenced.
      if (it == conns_.end() || !it->second.handle.native_handle() || it->second.handle.is_disconnecting())
        continue;
      const std::string msg = a.show ? encode_have(a.piece) : encode_dont_have(it->second.dont_have_id, a.piece);
      it->second.handle.send_buffer(msg.data(), static_cast<int>(msg.size()));
    }
  }

  PieceSpread policy_;
  std::map<std::uint64_t, Conn> conns_;
  std::uint64_t next_id_ = 1;
};

class SpreadPeer : public lt::peer_plugin {
 public:
  SpreadPeer(std::weak_ptr<SpreadTorrent> torrent, std::uint64_t id, lt::peer_connection_handle pc)
      : torrent_(std::move(torrent)), id_(id), pc_(std::move(pc)) {}

  lt::string_view type() const override { return "swarmboot_spread"; }

  // The seeder told this peer it has everything (only fast-extension peers get HAVE_ALL): from here on a
  // DONT_HAVE can take pieces back and a REJECT can refuse a request.
  void sent_have_all() override {
    have_all_sent_ = true;
    maybe_hideable();
  }

  bool on_extension_handshake(const lt::bdecode_node& h) override {
    const lt::bdecode_node m = h.dict_find_dict("m");
    if (m) dont_have_id_ = static_cast<int>(m.dict_find_int_value("lt_donthave", 0));
    maybe_hideable();
    return true;
  }

  bool on_have(lt::piece_index_t piece) override {
    if (auto t = torrent_.lock()) t->has(id_, static_cast<int>(piece));
    return false;
  }
  bool on_have_all() override {
    if (auto t = torrent_.lock()) t->has_all(id_);
    return false;
  }
  bool on_bitfield(const lt::bitfield& bits) override {
    if (auto t = torrent_.lock()) {
      for (int i = 0; i < bits.size(); ++i) {
        if (bits.get_bit(i)) t->has(id_, i);
      }
    }
    return false;
  }

  bool on_request(const lt::peer_request& r) override {
    auto t = torrent_.lock();
    if (!t || t->request(id_, static_cast<int>(r.piece))) return false;
    // Hidden from this peer: its request crossed our DONT_HAVE, which it has read by the time it reads the
    // REJECT, so it will not ask the server for this piece again.
    const std::string msg = encode_reject(static_cast<int>(r.piece), r.start, r.length);
    pc_.send_buffer(msg.data(), static_cast<int>(msg.size()));
    return true;
  }

  bool on_cancel(const lt::peer_request& r) override {
    if (auto t = torrent_.lock()) t->cancel(id_, static_cast<int>(r.piece));
    return false;  // libtorrent still drops the block from its send queue
  }

  void on_disconnect(const lt::error_code&) override {
    if (auto t = torrent_.lock()) t->left(id_);
  }

 private:
  void maybe_hideable() {
    if (announced_ || !have_all_sent_ || dont_have_id_ <= 0 || dont_have_id_ > 255) return;
    announced_ = true;
    if (auto t = torrent_.lock()) t->hideable(id_, dont_have_id_);
  }

  std::weak_ptr<SpreadTorrent> torrent_;
  std::uint64_t id_;
  lt::peer_connection_handle pc_;
  bool have_all_sent_ = false;
  int dont_have_id_ = 0;
  bool announced_ = false;
};

std::shared_ptr<lt::peer_plugin> SpreadTorrent::new_connection(const lt::peer_connection_handle& pc) {
  const std::uint64_t id = next_id_++;
  joined(id, pc);
  return std::make_shared<SpreadPeer>(weak_from_this(), id, pc);
}

}  // namespace

std::shared_ptr<lt::torrent_plugin> make_spread_plugin(int num_pieces, SpreadOptions options) {
  return std::make_shared<SpreadTorrent>(num_pieces, options);
}

}  // namespace swarmboot::server
