// swarmbootd's persistent state in SQLite (DATA_DIR/state.db, WAL): images (a mirror of the image registry
// folder), hosts, and an append-only event log. The schema is versioned with PRAGMA user_version and
// migrated forward on open, one transaction per step.
//
// Thread-safety: every method may be called from any thread; one mutex (`mutex_`) serialises use of the
// single connection. Calls are short local disk operations, never network waits.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/host_report.hpp"
#include "core/host_state.hpp"
#include "core/validation.hpp"
#include "swarmcore/image_registry.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

struct EventRecord {
  std::int64_t id = 0;  // assigned by the store
  std::int64_t time_ms = 0;
  std::string mac;
  std::string kind;   // "report", "assign", "reimage", "register", "delete", "refused"
  std::string state;  // the host's state after the event
  std::string stage;
  std::optional<double> progress;
  std::string message;
  std::string agent_json;
};

class StateStore {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens (creating and migrating) the database at `path`.
  static Result<std::unique_ptr<StateStore>> open(const std::string& path, Logger log);
  ~StateStore();  // closes the database (checkpointing the WAL)
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  int schema_version();

  // Images: the table mirrors the registry; replace_images makes it equal to `images` in one transaction.
  Status replace_images(const std::vector<ImageRecord>& images);
  Result<std::vector<ImageRecord>> images();

  Result<std::optional<HostRecord>> host(const std::string& mac);
  Result<std::vector<HostRecord>> hosts();
  Result<std::optional<HostRecord>> host_by_ip(const std::string& ip);
  Result<std::map<std::string, int>> host_counts_by_state();

  // Read-modify-write of one host in one transaction: `change` sees the host (nullopt if unknown), may
  // create, edit or reset it (nullopt = delete) and append events; an Error from `change` rolls back.
  // Returns the host as stored afterwards.
  using HostChange = std::function<Status(std::optional<HostRecord>& host, std::vector<EventRecord>& events)>;
  Result<std::optional<HostRecord>> change_host(const std::string& mac, const HostChange& change);

  // Events, oldest first: those with id > after_id, optionally for one MAC, at most `limit`.
  Result<std::vector<EventRecord>> events(const std::string& mac, std::int64_t after_id, int limit);

 private:
  StateStore(sqlite3* db, Logger log) : db_(db), log_(std::move(log)) {}
  Status exec(const std::string& sql);  // caller holds mutex_
  Status migrate();
  Result<std::optional<HostRecord>> load_host(const char* where, const std::string& arg);  // holds mutex_

  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
  Logger log_;
};

}  // namespace swarmboot::server
