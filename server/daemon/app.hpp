// swarmbootd's request handling: routes every URL of the contract to a small handler that parses, calls
// the pure core (scripts, tracker answers, state rules), touches the store, and builds a Reply. It also keeps
// the image catalog in step with the registry folder (DATA_DIR/images), the database, the tracker and the
// seeder.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/metrics.hpp"
#include "daemon/seeder.hpp"
#include "daemon/state_store.hpp"
#include "daemon/tracker.hpp"
#include "swarmcore/image_registry.hpp"
#include "swarmcore/log.hpp"

namespace swarmboot::server {

struct AppContext {
  ServerConfig config;
  StateStore* store = nullptr;
  Tracker* tracker = nullptr;
  Seeder* seeder = nullptr;  // null when --seeder false
  Metrics* metrics = nullptr;
  std::function<std::int64_t()> now_ms;    // wall clock in ms (a seam for tests)
  std::function<std::string()> new_token;  // per-host secrets
};

class App {
 public:
  App(AppContext context, Logger log);

  Reply handle(const HttpRequestMessage& request, const Peer& peer);

  // Re-reads the registry folder; when it changed, updates the database, tracker and seeder.
  Status refresh_images();
  // Periodic work: registry refresh and tracker expiry.
  void tick();

 private:
  struct Catalog {
    std::vector<ImageRecord> images;
    std::map<std::string, std::size_t> by_name;
  };
  std::shared_ptr<const Catalog> catalog() const;
  const ImageRecord* find_image(const Catalog& c, const std::string& name) const;
  // The registered image `name` (nullopt if none), re-reading the registry folder once when it is not in the
  // catalog, so an image added with `swarmboot image add` moments ago is found.
  std::optional<ImageRecord> find_image_now(const std::string& name);

  Reply boot_script(std::string_view query, const Peer& peer);
  Reply boot_file(const HttpRequestMessage& req, const std::string& name);
  Reply torrent(const std::string& name);
  Reply webseed(const HttpRequestMessage& req, const std::string& name);
  Reply boot_profile(const std::string& name);
  Reply announce(std::string_view query, const Peer& peer);
  Reply scrape(std::string_view query);
  Reply metrics();
  Reply api(const HttpRequestMessage& req, std::string_view path, std::string_view query, const Peer& peer);
  Reply api_images(const HttpRequestMessage& req, const std::string& name);
  Reply api_image_profile(const HttpRequestMessage& req, const std::string& name);
  Reply api_host(const HttpRequestMessage& req, const std::string& mac_text, const std::string& action,
                 const Peer& peer);
  Reply api_events(std::string_view query);

  bool is_admin(const HttpRequestMessage& req) const;
  std::string server_url(const Peer& peer) const;
  Reply file_reply(const HttpRequestMessage& req, const std::string& path, const std::string& etag,
                   std::int64_t expected_size, std::function<void(std::uint64_t)> on_sent);

  AppContext ctx_;
  Logger log_;
  ImageRegistry registry_;
  std::mutex refresh_mutex_;  // serialises refresh_images()
  bool loaded_ = false;       // guarded by refresh_mutex_: the catalog was built once
  mutable std::mutex catalog_mutex_;
  std::shared_ptr<const Catalog>
      catalog_;  // guarded by catalog_mutex_ (the pointer; the Catalog is immutable)
};

// 32 random hex digits from the kernel's CSPRNG.
std::string random_token();

}  // namespace swarmboot::server
