// Routing and handlers of swarmbootd; see app.hpp. Handlers parse, decide with core/ functions, store, reply.
#include "daemon/app.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/random.h>

#include <set>

#include "core/api_json.hpp"
#include "core/boot_script.hpp"
#include "core/host_report.hpp"
#include "core/http_range.hpp"
#include "core/tracker_protocol.hpp"
#include "core/validation.hpp"
#include "swarmcore/boot_profile.hpp"

namespace swarmboot::server {
using nlohmann::json;

namespace {

// Largest boot profile accepted (a recorded one has a line per piece read: kilobytes). The server-wide
// --max-body-bytes applies first.
constexpr std::size_t kMaxBootProfileBytes = 4 << 20;

Reply text_reply(http::status status, std::string body, const char* content_type) {
  Reply r;
  r.message = http::response<http::string_body>{status, 11};
  r.message.set(http::field::content_type, content_type);
  r.message.set(http::field::cache_control, "no-store");
  r.message.body() = std::move(body);
  return r;
}

Reply json_reply(http::status status, const json& body) {
  return text_reply(status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", "application/json");
}

Reply error_reply(http::status status, std::string_view message) {
  return text_reply(status, json_error(message), "application/json");
}

json host_json(const HostRecord& h) {
  json j = {{"mac", h.mac},
            {"hostname", h.hostname},
            {"labels", h.labels},
            {"image", h.image},
            {"mode", std::string(to_string(h.mode))},
            {"disk", h.disk.empty() ? std::string("auto") : h.disk},
            {"state", std::string(to_string(h.state))},
            {"reason", h.reason},
            {"progress", h.progress},
            {"ip", h.ip},
            {"last_seen", h.last_seen_ms},
            {"created", h.created_ms},
            {"progress_at_switch_root", nullptr},
            {"progress_at_booted", nullptr}};
  if (h.progress_at_switch_root) j["progress_at_switch_root"] = *h.progress_at_switch_root;
  if (h.progress_at_booted) j["progress_at_booted"] = *h.progress_at_booted;
  return j;
}

json event_json(const EventRecord& e) {
  json j = {{"id", e.id},       {"time", e.time_ms},       {"mac", e.mac},         {"kind", e.kind},
            {"state", e.state}, {"stage", e.stage},        {"progress", nullptr},  {"message", e.message},
            {"agent", nullptr}};
  if (e.progress) j["progress"] = *e.progress;
  if (!e.agent_json.empty()) j["agent"] = json::parse(e.agent_json, nullptr, false);
  return j;
}

json image_json(const ImageRecord& r) {
  return {{"name", r.name},           {"info_hash", r.info_hash},   {"size", r.size},
          {"piece_size", r.piece_size}, {"num_pieces", r.num_pieces}, {"path", r.path},
          {"format", std::string(to_string(r.format))}, {"added", r.added}};
}

// Constant-time comparison, so a token cannot be guessed byte by byte from response times.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string bearer(const HttpRequestMessage& req) {
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  const std::string_view v(it->value().data(), it->value().size());
  constexpr std::string_view prefix = "Bearer ";
  return v.substr(0, prefix.size()) == prefix ? std::string(v.substr(prefix.size())) : std::string();
}

}  // namespace

std::string random_token() {
  unsigned char raw[16];
  size_t got = 0;
  while (got < sizeof raw) {
    const ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return to_hex(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
}

App::App(AppContext context, Logger log)
    : ctx_(std::move(context)), log_(std::move(log)), registry_(ctx_.config.data_dir + "/images"),
      catalog_(std::make_shared<Catalog>()) {}

std::shared_ptr<const App::Catalog> App::catalog() const {
  std::lock_guard lock(catalog_mutex_);
  return catalog_;
}

const ImageRecord* App::find_image(const Catalog& c, const std::string& name) const {
  const auto it = c.by_name.find(name);
  return it == c.by_name.end() ? nullptr : &c.images[it->second];
}

Status App::refresh_images() {
  std::lock_guard lock(refresh_mutex_);
  auto listed = registry_.list();
  if (!listed) return wrap("could not refresh images", listed.error());
  auto current = catalog();
  auto key = [](const std::vector<ImageRecord>& v) {
    std::string k;
    for (const auto& r : v) k += r.name + "\n" + r.info_hash + "\n" + r.path + "\n";
    return k;
  };
  if (loaded_ && key(*listed) == key(current->images)) return {};
  if (auto s = ctx_.store->replace_images(*listed); !s) return s;
  auto next = std::make_shared<Catalog>();
  next->images = *listed;
  std::set<std::string> hashes;
  for (size_t i = 0; i < next->images.size(); ++i) {
    next->by_name[next->images[i].name] = i;
    const std::string& hex = next->images[i].info_hash;
    std::string raw;
    for (size_t j = 0; j + 1 < hex.size(); j += 2) raw += static_cast<char>(std::stoi(hex.substr(j, 2), nullptr, 16));
    hashes.insert(raw);
  }
  ctx_.tracker->set_registered(hashes);
  if (ctx_.seeder != nullptr) ctx_.seeder->sync(next->images, registry_);
  log_.info("image catalog: {} images", next->images.size());
  loaded_ = true;
  std::lock_guard clock(catalog_mutex_);
  catalog_ = std::move(next);
  return {};
}

void App::tick() {
  if (auto s = refresh_images(); !s) log_.warn("{}", s.error().message);
  ctx_.tracker->expire(ctx_.now_ms());
}

bool App::is_admin(const HttpRequestMessage& req) const {
  return !ctx_.config.api_token.empty() && same_secret(bearer(req), ctx_.config.api_token);
}

std::string App::server_url(const Peer& peer) const {
  if (!ctx_.config.advertise_url.empty()) return ctx_.config.advertise_url;
  const bool v6 = peer.local_ip.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", peer.local_ip, v6 ? "]" : "", peer.local_port);
}

Reply App::handle(const HttpRequestMessage& req, const Peer& peer) {
  ctx_.metrics->count_request();
  const std::string_view target(req.target().data(), req.target().size());
  const auto [path, query] = split_target(target);
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  Reply reply;
  std::string kind = "other";
  if (path.substr(0, 8) == "/api/v1/") {
    reply = api(req, path, query, peer);
    kind = "api";
  } else if (!get) {
    reply = error_reply(http::status::method_not_allowed, "method not allowed");
  } else if (path == "/boot.ipxe") {
    reply = boot_script(query, peer);
    kind = "script";
  } else if (path == "/boot/vmlinuz" || path == "/boot/initramfs.img") {
    reply = boot_file(req, std::string(path.substr(6)));
    kind = "boot";
  } else if (path == "/boot/ipxe.efi") {
    // UEFI HTTP-boot clients are pointed here by dnsmasq (boot/); the PXE service copied Debian's binary into
    // the TFTP root. A fixed name, never a client's path.
    reply = file_reply(req, ctx_.config.data_dir + "/tftp/ipxe.efi", "", -1,
                       [m = ctx_.metrics](std::uint64_t n) { m->add_http_bytes("boot", n); });
    kind = "boot";
  } else if (path.substr(0, 10) == "/torrents/" && path.size() > 18 && path.substr(path.size() - 8) == ".torrent") {
    reply = torrent(std::string(path.substr(10, path.size() - 18)));
    kind = "torrent";
  } else if (path.substr(0, 8) == "/images/" && path.size() > 16 &&
             path.substr(path.size() - 8) == "/profile") {
    reply = boot_profile(std::string(path.substr(8, path.size() - 16)));
    kind = "profile";
  } else if (path.substr(0, 8) == "/images/") {
    reply = webseed(req, std::string(path.substr(8)));
    kind = "webseed";
  } else if (path == "/announce") {
    reply = announce(query, peer);
    kind = "tracker";
  } else if (path == "/scrape") {
    reply = scrape(query);
    kind = "tracker";
  } else if (path == "/metrics") {
    reply = metrics();
    kind = "metrics";
  } else {
    reply = error_reply(http::status::not_found, "not found");
  }
  const int status = static_cast<int>(reply.message.result_int());
  if (status >= 400) ctx_.metrics->count_error(status);
  if (!reply.file && req.method() != http::verb::head) ctx_.metrics->add_http_bytes(kind, reply.message.body().size());
  return reply;
}

// ---- boot --------------------------------------------------------------------------------------------------

Reply App::boot_script(std::string_view query, const Peer& peer) {
  auto params = parse_query(query);
  if (!params) return text_reply(http::status::bad_request, "#!ipxe\necho swarmboot: bad request\n", "text/plain");
  BootScriptSettings settings;
  settings.server_url = server_url(peer);
  settings.fetch_attempts = ctx_.config.boot_attempts;
  settings.retry_delay_s = ctx_.config.boot_retry_delay;
  settings.retry_later_delay_s = ctx_.config.retry_later_delay;
  settings.kernel_extra_args = ctx_.config.kernel_args;
  settings.install_seed_seconds = ctx_.config.install_seed_seconds;
  auto script_reply = [](const Result<std::string>& script) {
    if (!script) return text_reply(http::status::bad_request, json_error(script.error().message), "application/json");
    return text_reply(http::status::ok, *script, "text/plain; charset=utf-8");
  };
  const std::string mac_text = query_value(*params, "mac");
  if (mac_text.empty()) return script_reply(render_chain_script(settings));
  auto mac = canonical_mac(mac_text);
  if (!mac) return error_reply(http::status::bad_request, mac.error().message);
  std::string arch = query_value(*params, "arch");
  if (arch.empty()) arch = "x86_64";
  if (auto s = validate_arch_word(arch); !s) return error_reply(http::status::bad_request, s.error().message);

  const auto cat = catalog();
  const std::int64_t now = ctx_.now_ms();
  const bool register_unknown = ctx_.config.unknown_hosts == UnknownHostPolicy::register_default;
  auto stored = ctx_.store->change_host(*mac, [&](std::optional<HostRecord>& host, std::vector<EventRecord>& events) {
    if (!host) {
      if (!register_unknown) return Status{};
      host = HostRecord{};
      host->image = ctx_.config.default_image;
      host->mode = ctx_.config.default_mode;
      host->token = ctx_.new_token();
      host->created_ms = now;
      events.push_back({0, now, *mac, "register", "new", "", std::nullopt,
                        "registered on first boot with image " + host->image + " (arch " + arch + ")", ""});
    }
    host->ip = peer.remote_ip;
    host->last_seen_ms = now;
    if (host->state == HostState::installed) {
      // The history shows each boot from the local disk, so "did it come back from its disk?" has an answer.
      events.push_back({0, now, *mac, "boot", "installed", "local_disk", std::nullopt,
                        "answered exit: boots image " + host->image + " from its local disk", ""});
    }
    return Status{};
  });
  if (!stored) return error_reply(http::status::internal_server_error, stored.error().message);
  const auto& host = stored.value();
  if (!host) {
    log_.info("unknown machine {} asked for a boot script", *mac);
    return script_reply(render_retry_later_script(*mac, "unknown machine, no image assigned", settings));
  }
  if (host->image.empty()) return script_reply(render_retry_later_script(*mac, "no image assigned", settings));
  const ImageRecord* image = find_image(*cat, host->image);
  if (image == nullptr) {
    return script_reply(render_retry_later_script(*mac, "image " + host->image + " is not registered", settings));
  }
  BootTarget t{host->mac,   host->hostname, image->name, image->info_hash,
               host->mode,  host->state,    host->token, host->disk};
  return script_reply(render_host_script(t, arch, settings));
}

Reply App::file_reply(const HttpRequestMessage& req, const std::string& path, const std::string& etag,
                      std::int64_t expected_size, std::function<void(std::uint64_t)> on_sent) {
  auto file = OpenFile::open(path);
  if (!file) {
    log_.warn("{}", file.error().message);
    return error_reply(http::status::not_found, "not found");
  }
  const std::int64_t size = (*file)->size();
  if (expected_size >= 0 && size != expected_size) {
    // The registered file changed under us: serving it would hand out bytes that fail the hash check.
    log_.error("{} is {} bytes, registered as {}: not serving it", path, size, expected_size);
    return error_reply(http::status::service_unavailable, "image file changed since it was registered");
  }
  const std::string tag = etag.empty() ? fmt::format("\"{:x}-{:x}\"", size, (*file)->mtime()) : etag;
  if (auto inm = req.find(http::field::if_none_match); inm != req.end() && inm->value() == tag) {
    Reply r = text_reply(http::status::not_modified, "", "application/octet-stream");
    r.message.set(http::field::etag, tag);
    return r;
  }
  std::string range_header;
  if (auto it = req.find(http::field::range); it != req.end()) range_header = std::string(it->value());
  // If-Range with another validator: the client's partial copy is stale, send everything.
  if (auto ir = req.find(http::field::if_range); ir != req.end() && ir->value() != tag) range_header.clear();
  const RangeDecision d = decide_range(range_header, size);
  Reply r;
  r.message = http::response<http::string_body>{http::status::ok, 11};
  r.message.set(http::field::content_type, "application/octet-stream");
  r.message.set(http::field::accept_ranges, "bytes");
  r.message.set(http::field::etag, tag);
  if (d.kind == RangeDecision::unsatisfiable) {
    r.message.result(http::status::range_not_satisfiable);
    r.message.set(http::field::content_range, fmt::format("bytes */{}", size));
    return r;
  }
  if (d.kind == RangeDecision::partial) {
    r.message.result(http::status::partial_content);
    r.message.set(http::field::content_range, fmt::format("bytes {}-{}/{}", d.offset, d.offset + d.length - 1, size));
  }
  r.file = FileSpan{std::move(*file), d.offset, d.length, std::move(on_sent)};
  return r;
}

Reply App::boot_file(const HttpRequestMessage& req, const std::string& name) {
  return file_reply(req, ctx_.config.boot_dir + "/" + name, "", -1,
                    [m = ctx_.metrics](std::uint64_t n) { m->add_http_bytes("boot", n); });
}

Reply App::torrent(const std::string& name) {
  if (!validate_image_name(name) || find_image(*catalog(), name) == nullptr) {
    return error_reply(http::status::not_found, "no such image");
  }
  auto bytes = registry_.torrent_bytes(name);
  if (!bytes) return error_reply(http::status::not_found, "no such image");
  return text_reply(http::status::ok, std::move(*bytes), "application/x-bittorrent");
}

Reply App::webseed(const HttpRequestMessage& req, const std::string& name) {
  // Only registered images, looked up by name: the path served is the one we registered, never the client's.
  const auto cat = catalog();
  const ImageRecord* image = validate_image_name(name) ? find_image(*cat, name) : nullptr;
  if (image == nullptr) return error_reply(http::status::not_found, "no such image");
  return file_reply(req, image->path, "\"" + image->info_hash + "\"", image->size,
                    [m = ctx_.metrics, n = image->name](std::uint64_t bytes) {
                      m->add_webseed_bytes(n, bytes);
                      m->add_http_bytes("webseed", bytes);
                    });
}

// Unauthenticated like the web seed: hosts fetch it while booting.
Reply App::boot_profile(const std::string& name) {
  const auto cat = catalog();
  if (!validate_image_name(name) || find_image(*cat, name) == nullptr) {
    return error_reply(http::status::not_found, "no such image");
  }
  auto profile = registry_.boot_profile(name);
  if (!profile) return error_reply(http::status::internal_server_error, profile.error().message);
  if (!*profile) return error_reply(http::status::not_found, "image " + name + " has no boot profile");
  return text_reply(http::status::ok, std::move(**profile), "text/plain; charset=utf-8");
}

// ---- tracker -----------------------------------------------------------------------------------------------

Reply App::announce(std::string_view query, const Peer& peer) {
  auto bencoded = [](std::string body) { return text_reply(http::status::ok, std::move(body), "text/plain"); };
  auto params = parse_query(query);
  if (!params) return bencoded(bencode_failure(params.error().message));
  auto request = parse_announce(*params, ctx_.config.max_numwant);
  if (!request) return bencoded(bencode_failure(request.error().message));
  std::string rack;
  if (auto h = ctx_.store->host_by_ip(peer.remote_ip); h && h->has_value()) {
    const auto it = (*h)->labels.find("rack");
    if (it != (*h)->labels.end()) rack = it->second;
  }
  OriginSeed origin;
  if (ctx_.seeder != nullptr) {
    origin.ip = peer.local_ip;
    origin.port = ctx_.seeder->listen_port();
  }
  auto answer = ctx_.tracker->announce(*request, peer.remote_ip, rack, origin, ctx_.now_ms());
  if (!answer) {
    ctx_.metrics->count_error(403);
    return bencoded(bencode_failure(answer.error().message));
  }
  return bencoded(bencode_announce(*answer, request->compact));
}

Reply App::scrape(std::string_view query) {
  auto params = parse_query(query);
  if (!params) return text_reply(http::status::ok, bencode_failure(params.error().message), "text/plain");
  auto hashes = parse_scrape(*params);
  if (!hashes) return text_reply(http::status::ok, bencode_failure(hashes.error().message), "text/plain");
  auto entries = ctx_.tracker->scrape(*hashes);
  if (!entries) return text_reply(http::status::ok, bencode_failure(entries.error().message), "text/plain");
  return text_reply(http::status::ok, bencode_scrape(*entries), "text/plain");
}

Reply App::metrics() {
  Metrics::Gauges g;
  if (auto counts = ctx_.store->host_counts_by_state()) g.hosts_by_state = *counts;
  const auto cat = catalog();
  const auto peers = ctx_.tracker->peers_per_swarm();
  for (const auto& r : cat->images) {
    const auto it = peers.find(r.info_hash);
    g.peers_per_swarm[r.name] = it == peers.end() ? 0 : it->second;
  }
  if (ctx_.seeder != nullptr) g.bittorrent_bytes = ctx_.seeder->uploaded();
  g.announces = ctx_.tracker->announces();
  return text_reply(http::status::ok, ctx_.metrics->render(g), "text/plain; version=0.0.4");
}

// ---- REST API ----------------------------------------------------------------------------------------------

Reply App::api(const HttpRequestMessage& req, std::string_view path, std::string_view query, const Peer& peer) {
  const std::string_view rest = path.substr(8);  // after /api/v1/
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    parts.emplace_back(rest.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() > 4) return error_reply(http::status::not_found, "not found");
  if (parts[0] == "images" && parts.size() <= 2) return api_images(req, parts.size() == 2 ? parts[1] : "");
  if (parts[0] == "images" && parts.size() == 3 && parts[2] == "profile") {
    return api_image_profile(req, parts[1]);
  }
  if (parts[0] == "hosts" && parts.size() == 1) {
    if (req.method() != http::verb::get) return error_reply(http::status::method_not_allowed, "method not allowed");
    auto hosts = ctx_.store->hosts();
    if (!hosts) return error_reply(http::status::internal_server_error, hosts.error().message);
    json out = json::array();
    for (const auto& h : *hosts) out.push_back(host_json(h));
    return json_reply(http::status::ok, out);
  }
  if (parts[0] == "hosts" && parts.size() <= 3) {
    return api_host(req, parts[1], parts.size() == 3 ? parts[2] : "", peer);
  }
  if (parts[0] == "events" && parts.size() == 1) {
    if (req.method() != http::verb::get) return error_reply(http::status::method_not_allowed, "method not allowed");
    return api_events(query);
  }
  return error_reply(http::status::not_found, "not found");
}

Reply App::api_images(const HttpRequestMessage& req, const std::string& name) {
  if (req.method() == http::verb::get && name.empty()) {
    json out = json::array();
    for (const auto& r : catalog()->images) out.push_back(image_json(r));
    return json_reply(http::status::ok, out);
  }
  if (req.method() == http::verb::get) {
    const auto cat = catalog();
    const ImageRecord* r = validate_image_name(name) ? find_image(*cat, name) : nullptr;
    if (r == nullptr) return error_reply(http::status::not_found, "no such image");
    return json_reply(http::status::ok, image_json(*r));
  }
  if (req.method() != http::verb::post && req.method() != http::verb::delete_) {
    return error_reply(http::status::method_not_allowed, "method not allowed");
  }
  if (!is_admin(req)) return error_reply(http::status::unauthorized, "an admin bearer token is required");
  if (req.method() == http::verb::post) {
    if (!name.empty()) return error_reply(http::status::method_not_allowed, "POST to /api/v1/images");
    auto body = parse_image_add(req.body());
    if (!body) return error_reply(http::status::bad_request, body.error().message);
    // Hashing a large image takes a while; it happens on this request's thread, the others keep serving.
    auto added = registry_.add(body->path, body->name, body->piece_size != 0 ? body->piece_size : kDefaultPieceSize);
    if (!added) return error_reply(http::status::bad_request, added.error().message);
    if (auto s = refresh_images(); !s) return error_reply(http::status::internal_server_error, s.error().message);
    log_.info("image {} added ({})", added->name, added->info_hash);
    return json_reply(http::status::created, image_json(*added));
  }
  if (auto s = validate_image_name(name); !s) return error_reply(http::status::not_found, "no such image");
  if (find_image(*catalog(), name) == nullptr) return error_reply(http::status::not_found, "no such image");
  auto hosts = ctx_.store->hosts();
  if (!hosts) return error_reply(http::status::internal_server_error, hosts.error().message);
  for (const auto& h : *hosts) {
    if (h.image == name) {
      return error_reply(http::status::conflict, "image " + name + " is assigned to host " + h.mac + "; reassign it first");
    }
  }
  if (auto s = registry_.remove(name); !s) return error_reply(http::status::internal_server_error, s.error().message);
  if (auto s = refresh_images(); !s) return error_reply(http::status::internal_server_error, s.error().message);
  log_.info("image {} removed", name);
  return json_reply(http::status::ok, json{{"removed", name}});
}

std::optional<ImageRecord> App::find_image_now(const std::string& name) {
  if (!validate_image_name(name)) return std::nullopt;
  if (const ImageRecord* r = find_image(*catalog(), name)) return *r;
  if (auto s = refresh_images(); !s) log_.warn("{}", s.error().message);
  const auto cat = catalog();
  const ImageRecord* r = find_image(*cat, name);
  return r == nullptr ? std::nullopt : std::optional<ImageRecord>(*r);
}

// PUT stores a checked profile as the image's (replacing any), DELETE removes it; GET answers as
// /images/NAME/profile does.
Reply App::api_image_profile(const HttpRequestMessage& req, const std::string& name) {
  if (req.method() == http::verb::get || req.method() == http::verb::head) return boot_profile(name);
  if (req.method() != http::verb::put && req.method() != http::verb::delete_) {
    return error_reply(http::status::method_not_allowed, "method not allowed");
  }
  if (!is_admin(req)) return error_reply(http::status::unauthorized, "an admin bearer token is required");
  const auto image = find_image_now(name);
  if (!image) return error_reply(http::status::not_found, "no such image");
  if (req.method() == http::verb::delete_) {
    auto stored = registry_.boot_profile(name);
    if (!stored) return error_reply(http::status::internal_server_error, stored.error().message);
    if (!*stored) return error_reply(http::status::not_found, "image " + name + " has no boot profile");
    if (auto s = registry_.remove_boot_profile(name); !s) {
      return error_reply(http::status::internal_server_error, s.error().message);
    }
    log_.info("boot profile of image {} removed", name);
    return json_reply(http::status::ok, json{{"image", name}, {"profile", "removed"}});
  }
  const std::string& text = req.body();
  if (text.size() > kMaxBootProfileBytes) {
    return error_reply(http::status::payload_too_large,
                       fmt::format("a boot profile is at most {} bytes, this one has {}",
                                   kMaxBootProfileBytes, text.size()));
  }
  auto ranges = parse_boot_profile(text, image->size);
  if (!ranges) return error_reply(http::status::bad_request, ranges.error().message);
  if (auto s = registry_.set_boot_profile(name, text); !s) {
    return error_reply(http::status::internal_server_error, s.error().message);
  }
  log_.info("boot profile of image {} stored: {} ranges", name, ranges->size());
  return json_reply(http::status::ok,
                    json{{"image", name}, {"ranges", ranges->size()}, {"bytes", text.size()}});
}

Reply App::api_host(const HttpRequestMessage& req, const std::string& mac_text, const std::string& action,
                    const Peer& peer) {
  auto mac = canonical_mac(mac_text);
  if (!mac) return error_reply(http::status::bad_request, mac.error().message);
  const std::int64_t now = ctx_.now_ms();
  const auto method = req.method();

  if (action.empty() && method == http::verb::get) {
    auto host = ctx_.store->host(*mac);
    if (!host) return error_reply(http::status::internal_server_error, host.error().message);
    if (!host->has_value()) return error_reply(http::status::not_found, "no such host");
    return json_reply(http::status::ok, host_json(**host));
  }

  if (action == "events" && method == http::verb::post) {
    auto report = parse_host_event(req.body());
    const std::string token = bearer(req);
    http::status refusal = http::status::ok;
    std::string refusal_text;
    auto stored = ctx_.store->change_host(*mac, [&](std::optional<HostRecord>& host, std::vector<EventRecord>& events) {
      // Authorise before looking at the body, so that unauthenticated callers learn nothing.
      if (!host) {
        refusal = is_admin(req) ? http::status::not_found : http::status::unauthorized;
        refusal_text = is_admin(req) ? "no such host" : "a bearer token is required";
        return Status{Error{refusal_text}};
      }
      if (!is_admin(req) && !same_secret(token, host->token)) {
        refusal = http::status::unauthorized;
        refusal_text = "this host's token or an admin token is required";
        return Status{Error{refusal_text}};
      }
      if (!report) {
        refusal = http::status::bad_request;
        refusal_text = report.error().message;
        return Status{report.error()};
      }
      if (auto s = apply_host_report(*host, *report); !s) {
        refusal = http::status::conflict;
        refusal_text = s.error().message;
        return s;
      }
      host->ip = peer.remote_ip;
      host->last_seen_ms = now;
      events.push_back({0, now, *mac, "report", std::string(to_string(host->state)), report->stage,
                        report->progress ? report->progress : std::optional<double>(host->progress), report->message,
                        report->agent_json});
      return Status{};
    });
    if (!stored) {
      if (refusal == http::status::ok) return error_reply(http::status::internal_server_error, stored.error().message);
      if (refusal == http::status::conflict) log_.warn("report from {} refused: {}", *mac, refusal_text);
      return error_reply(refusal, refusal_text);
    }
    return json_reply(http::status::ok, host_json(**stored));
  }

  if (!is_admin(req)) {
    if (method == http::verb::put || method == http::verb::delete_ || method == http::verb::post) {
      return error_reply(http::status::unauthorized, "an admin bearer token is required");
    }
    return error_reply(http::status::method_not_allowed, "method not allowed");
  }

  if (action.empty() && method == http::verb::put) {
    auto assignment = parse_host_assignment(req.body());
    if (!assignment) return error_reply(http::status::bad_request, assignment.error().message);
    if (assignment->image && !find_image_now(*assignment->image)) {
      return error_reply(http::status::bad_request, "image " + *assignment->image + " is not registered");
    }
    auto stored = ctx_.store->change_host(*mac, [&](std::optional<HostRecord>& host, std::vector<EventRecord>& events) {
      const bool created = !host;
      if (created) {
        host = HostRecord{};
        host->token = ctx_.new_token();
        host->created_ms = now;
      }
      const bool reassigned = (assignment->image && *assignment->image != host->image) ||
                              (assignment->mode && *assignment->mode != host->mode);
      if (assignment->hostname) host->hostname = *assignment->hostname;
      if (assignment->image) host->image = *assignment->image;
      if (assignment->mode) host->mode = *assignment->mode;
      if (assignment->labels) host->labels = *assignment->labels;
      if (assignment->disk) host->disk = *assignment->disk;
      if (reassigned && !created) {
        host->state = state_after_assignment(host->state);
        if (host->state == HostState::fresh) reimage_host(*host);
      }
      events.push_back({0, now, *mac, created ? "register" : "assign", std::string(to_string(host->state)), "",
                        std::nullopt,
                        fmt::format("image={} mode={} hostname={}", host->image, to_string(host->mode), host->hostname),
                        ""});
      return Status{};
    });
    if (!stored) return error_reply(http::status::internal_server_error, stored.error().message);
    return json_reply(http::status::ok, host_json(**stored));
  }

  if (action.empty() && method == http::verb::delete_) {
    bool existed = false;
    auto stored = ctx_.store->change_host(*mac, [&](std::optional<HostRecord>& host, std::vector<EventRecord>& events) {
      existed = host.has_value();
      if (existed) events.push_back({0, now, *mac, "delete", "", "", std::nullopt, "host deleted", ""});
      host.reset();
      return Status{};
    });
    if (!stored) return error_reply(http::status::internal_server_error, stored.error().message);
    if (!existed) return error_reply(http::status::not_found, "no such host");
    return json_reply(http::status::ok, json{{"deleted", *mac}});
  }

  if (action == "reimage" && method == http::verb::post) {
    auto stored = ctx_.store->change_host(*mac, [&](std::optional<HostRecord>& host, std::vector<EventRecord>& events) {
      if (!host) return Status{Error{"no such host"}};
      reimage_host(*host);
      events.push_back({0, now, *mac, "reimage", "new", "", std::nullopt, "reimage requested", ""});
      return Status{};
    });
    if (!stored) return error_reply(http::status::not_found, stored.error().message);
    return json_reply(http::status::ok, host_json(**stored));
  }
  return error_reply(http::status::method_not_allowed, "method not allowed");
}

Reply App::api_events(std::string_view query) {
  auto params = parse_query(query);
  if (!params) return error_reply(http::status::bad_request, params.error().message);
  std::string mac;
  if (const std::string m = query_value(*params, "mac"); !m.empty()) {
    auto c = canonical_mac(m);
    if (!c) return error_reply(http::status::bad_request, c.error().message);
    mac = *c;
  }
  std::int64_t after = 0;
  int limit = 1000;
  try {
    if (const std::string a = query_value(*params, "after"); !a.empty()) after = std::stoll(a);
    if (const std::string l = query_value(*params, "limit"); !l.empty()) limit = std::stoi(l);
  } catch (const std::exception&) {
    return error_reply(http::status::bad_request, "after and limit must be integers");
  }
  if (limit < 1 || limit > 10000 || after < 0) return error_reply(http::status::bad_request, "limit is 1 to 10000");
  auto events = ctx_.store->events(mac, after, limit);
  if (!events) return error_reply(http::status::internal_server_error, events.error().message);
  json out = json::array();
  for (const auto& e : *events) out.push_back(event_json(e));
  return json_reply(http::status::ok, out);
}

}  // namespace swarmboot::server
