// The test/benchmark seeder (see seeder.hpp).
#include "seeder.hpp"

#include <signal.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>

#include "lt_overrides.hpp"
#include "preflight.hpp"
#include "swarmcore/swarm_settings.hpp"

namespace swarmboot::agent {

namespace fs = std::filesystem;

Status run_seeder(const SeedOptions& options, const Logger& log) {
  auto torrent = load_torrent(options.torrent, "");
  if (!torrent) return torrent.error();
  std::error_code fec;
  const auto size = fs::file_size(options.data_file, fec);
  if (fec) return Error{"could not use the data file " + options.data_file + ": " + fec.message()};
  if (static_cast<std::int64_t>(size) != torrent->size)
    return Error{"could not seed " + options.data_file + ": it has " + std::to_string(size) + " bytes, the torrent " +
                 std::to_string(torrent->size)};

  // Signals go to sigwait below, not to libtorrent's threads: block them before the session starts any.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  SwarmTuning tuning;
  tuning.listen_interfaces = options.listen_address + ":" + std::to_string(options.listen_port);
  lt::settings_pack settings = swarm_settings(tuning);
  settings.set_int(lt::settings_pack::stop_tracker_timeout, 1);
  if (auto s = apply_lt_settings(options.lt_settings, settings); !s) return s;
  if (options.no_verify) settings.set_bool(lt::settings_pack::disable_hash_checks, true);
  lt::session session(lt::session_params(std::move(settings)));

  lt::error_code ec;
  lt::add_torrent_params atp;
  atp.ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(torrent->bytes.data(), static_cast<std::ptrdiff_t>(torrent->bytes.size())), ec, lt::from_span);
  if (ec) return Error{"could not load the torrent: " + ec.message()};
  const fs::path data = fs::absolute(options.data_file);
  atp.save_path = data.parent_path().string();
  atp.renamed_files[lt::file_index_t(0)] = data.filename().string();
  atp.flags |= lt::torrent_flags::seed_mode;
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
  atp.trackers = options.trackers;
  session.add_torrent(std::move(atp), ec);
  if (ec) return Error{"could not add the torrent: " + ec.message()};
  log.info("seeding {} ({} bytes) from {}{}", torrent->name, torrent->size, data.string(),
           options.no_verify ? " WITHOUT hash checks (test: corrupt peer)" : "");

  // Alerts are only logged; wake every second to drain them, and stop on a signal.
  timespec tick{1, 0};
  for (;;) {
    const int sig = sigtimedwait(&sigs, nullptr, &tick);
    std::vector<lt::alert*> alerts;
    session.pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (auto* lf = lt::alert_cast<lt::listen_failed_alert>(a))
        return Error{"could not listen on " + lf->address.to_string() + ": " + lf->error.message()};
      if (auto* ls = lt::alert_cast<lt::listen_succeeded_alert>(a))
        log.info("listening on {}:{}", ls->address.to_string(), ls->port);
      if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) log.error("{}", fe->message());
    }
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  log.info("stopping");
  return {};
}

}  // namespace swarmboot::agent
