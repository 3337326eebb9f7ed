// Session parameters, status file and status reports shared by the swarm subcommands (see agent_io.hpp).
#include "agent_io.hpp"

#include <libtorrent/mmap_disk_io.hpp>

#include "lt_overrides.hpp"
#include "swarmcore/file_io.hpp"
#include "swarmcore/http_client.hpp"
#include "swarmcore/swarm_settings.hpp"

namespace swarmboot::agent {

Result<lt::session_params> agent_session_params(const SwarmOptions& options) {
  SwarmTuning tuning;
  tuning.listen_interfaces = options.listen_address + ":" + std::to_string(options.listen_port);
  lt::settings_pack settings = swarm_settings(tuning);
  // A clean shutdown must not wait long on trackers: the host is rebooting.
  settings.set_int(lt::settings_pack::stop_tracker_timeout, 1);
  // Until a torrent has initial_picker_threshold pieces (default 4), libtorrent picks random pieces and ignores
  // piece priorities (peer_connection::picker_options: no rarest_first), so a booting host's first reads, with
  // deadline 0 / priority 7, waited behind ~10 random pieces: cold 4 MiB read 4.3–4.6× its wire time, 2.2–2.6×
  // with 0 (docs/benchmarks.md). On a LAN with a seed there is nothing to gain from random first pieces.
  settings.set_int(lt::settings_pack::initial_picker_threshold, 0);
  if (auto s = apply_lt_settings(options.lt_settings, settings); !s) return s.error();
  lt::session_params params(std::move(settings));
  // The write fence reasoning (write_fence.hpp) is about mmap_disk_io's job fences: say so explicitly.
  params.disk_io_constructor = lt::mmap_disk_io_constructor;
  return params;
}

void write_file_replacing(const std::string& path, const std::string& content, const Logger& log) {
  if (auto s = write_file_atomic(path, content); !s) log.warn("{}", s.error().message);
}

void post_status_report(const std::string& url, const std::string& token, const std::string& json,
                        const Logger& log, bool unreachable_is_warning) {
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = json;
  req.headers["Content-Type"] = "application/json";
  if (!token.empty()) req.headers["Authorization"] = "Bearer " + token;
  req.timeout = std::chrono::seconds(2);
  auto r = http_request(req);
  if (!r) {
    if (unreachable_is_warning) {
      log.warn("could not post a status report: {}", r.error().message);
    } else {
      log.debug("could not post a status report: {}", r.error().message);
    }
  } else if (r->status >= 300) {
    log.warn("could not post a status report: HTTP {} {}", r->status, r->body.substr(0, 200));
  }
}

}  // namespace swarmboot::agent
