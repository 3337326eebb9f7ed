// swarmbootd: the appliance. main() only wires: options -> store -> tracker, seeder, app -> HTTP server ->
// run until SIGTERM/SIGINT -> graceful shutdown (stop accepting, finish responses, save resume data, close DB).
//
// PXE seam: network boot services (dnsmasq for DHCP/TFTP, issue 5, code under boot/) are components with
// start()/stop() that main starts after the HTTP socket is bound and stops first on shutdown. With
// --dhcp-mode off none is started and no network interface is touched.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/config.hpp"
#include "daemon/app.hpp"
#include "daemon/http_server.hpp"
#include "daemon/metrics.hpp"
#include "daemon/seeder.hpp"
#include "daemon/state_store.hpp"
#include "daemon/tracker.hpp"
#include "swarmboot/pxe/pxe_service.hpp"

extern char** environ;

namespace {
using namespace swarmboot;
using namespace swarmboot::server;

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.rfind("SWARMBOOT_", 0) == 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"could not read --api-token-file " + path};
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (auto s = validate_token(token); !s) return wrap("could not use --api-token-file " + path, s.error());
  return token;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Refresh of the registry and tracker expiry every two seconds on the HTTP io_context.
void schedule_tick(boost::asio::steady_timer& timer, App& app) {
  timer.expires_after(std::chrono::seconds(2));
  timer.async_wait([&timer, &app](const boost::system::error_code& ec) {
    if (ec) return;
    app.tick();
    schedule_tick(timer, app);
  });
}

int run(int argc, char** argv) {
  auto loaded = load_server_config(std::vector<std::string>(argv + 1, argv + argc), environment());
  if (!loaded) {
    std::cerr << "swarmbootd: " << loaded.error().message << "\n";
    return 2;
  }
  if (loaded->help) {
    std::cout << loaded->help_text;
    return 0;
  }
  ServerConfig config = loaded->config;
  auto sink = std::make_shared<LogSink>(config.log_level);
  Logger log(sink, "server");
  if (!config.api_token_file.empty()) {
    auto token = read_token_file(config.api_token_file);
    if (!token) {
      log.error("{}", token.error().message);
      return 2;
    }
    config.api_token = *token;
  }
  if (config.api_token.empty()) log.warn("no admin token (SWARMBOOT_API_TOKEN or --api-token-file): the API is read-only");

  std::error_code ec;
  for (const char* sub : {"", "/images", "/seeder"}) {
    std::filesystem::create_directories(config.data_dir + sub, ec);
    if (ec) {
      log.error("could not create {}{}: {}", config.data_dir, sub, ec.message());
      return 1;
    }
  }
  auto store = StateStore::open(config.data_dir + "/state.db", log.child("db"));
  if (!store) {
    log.error("{}", store.error().message);
    return 1;
  }
  Tracker tracker({config.announce_interval, config.announce_interval_downloading});
  Metrics metrics;
  std::unique_ptr<Seeder> seeder;
  if (config.seeder) {
    auto s = Seeder::start({config.bt_listen, config.seed_upload_limit, config.data_dir + "/seeder", config.seeding}, log.child("seeder"));
    if (!s) {
      log.error("{}", s.error().message);
      return 1;
    }
    seeder = std::move(*s);
  }
  App app({config, store->get(), &tracker, seeder.get(), &metrics, now_ms, random_token}, log.child("api"));
  if (auto s = app.refresh_images(); !s) log.warn("{}", s.error().message);

  auto server = HttpServer::bind(
      {config.listen_address, config.listen_port, config.max_body_bytes, config.http_threads},
      [&app](const HttpRequestMessage& req, const Peer& peer) { return app.handle(req, peer); }, log.child("http"));
  if (!server) {
    log.error("{}", server.error().message);
    return 1;
  }
  const std::uint16_t port = (*server)->port();
  {
    // Tests and scripts bind port 0 and read the port chosen from this file (written atomically).
    const std::string port_file = config.data_dir + "/swarmbootd.port";
    std::ofstream(port_file + ".tmp") << port << "\n";
    std::filesystem::rename(port_file + ".tmp", port_file, ec);
  }
  log.info("listening on http://{}:{} (data {}, dhcp-mode {})", config.listen_address, port, config.data_dir,
           to_string(config.dhcp_mode));
  std::cout << "swarmbootd: listening on port " << port << std::endl;

  // PXE (boot/): dnsmasq for DHCP/TFTP, started now that the boot URL can carry the real port, stopped first.
  std::unique_ptr<pxe::PxeService> pxe_service;
  if (config.dhcp_mode != DhcpMode::off) {
    pxe::PxeServiceOptions p;
    p.mode = config.dhcp_mode == DhcpMode::full ? pxe::DhcpMode::full : pxe::DhcpMode::proxy;
    p.interface = config.interface;
    p.dhcp_range = config.dhcp_range;
    p.data_dir = config.data_dir;
    p.listen_address = config.listen_address;
    p.http_port = port;
    p.advertise_url = config.advertise_url;
    p.api_token = config.api_token;
    auto started = pxe::PxeService::start(p, sink);
    if (!started) {
      log.error("{}", started.error().message);
      return 1;
    }
    pxe_service = std::move(*started);
  }

  boost::asio::signal_set signals((*server)->io(), SIGTERM, SIGINT);
  boost::asio::steady_timer ticker((*server)->io());
  signals.async_wait([&](const boost::system::error_code& e, int signal) {
    if (e) return;
    log.info("signal {}: shutting down", signal);
    if (pxe_service) pxe_service->stop();  // no new machines start booting while HTTP winds down
    ticker.cancel();
    (*server)->stop();
  });
  schedule_tick(ticker, app);
  (*server)->run();

  log.info("HTTP stopped");
  if (seeder) seeder->stop();
  store->reset();
  log.info("state saved, bye");
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  std::signal(SIGPIPE, SIG_IGN);
  return run(argc, argv);
} catch (const std::exception& e) {
  std::cerr << "swarmbootd: " << e.what() << "\n";
  return 1;
}
