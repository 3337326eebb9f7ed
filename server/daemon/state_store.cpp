// SQLite (C API) implementation of StateStore. Statements are prepared per call (the load is a few per
// request); the small Statement wrapper finalises them on every path.
#include "daemon/state_store.hpp"

#include <nlohmann/json.hpp>

namespace swarmboot::server {
namespace {

// Schema steps; index i migrates from version i to i+1. Never edit a released step: append a new one.
const char* const kMigrations[] = {
    // 1: the three tables.
    "CREATE TABLE images ("
    "  name TEXT PRIMARY KEY, info_hash TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, piece_size INTEGER NOT "
    "NULL,"
    "  num_pieces INTEGER NOT NULL, path TEXT NOT NULL, format TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE TABLE hosts ("
    "  mac TEXT PRIMARY KEY, hostname TEXT NOT NULL DEFAULT '', labels TEXT NOT NULL DEFAULT '{}',"
    "  image TEXT NOT NULL DEFAULT '', mode TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT "
    "'',"
    "  progress REAL NOT NULL DEFAULT 0, token TEXT NOT NULL, ip TEXT NOT NULL DEFAULT '',"
    "  last_seen INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    "  progress_at_switch_root REAL, progress_at_booted REAL);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, mac TEXT NOT NULL, kind TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT '', stage TEXT NOT NULL DEFAULT '', progress REAL,"
    "  message TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '');",
    // 2: lookups by the tracker (peer address -> rack) and per-host event listings.
    "CREATE INDEX hosts_ip ON hosts(ip);"
    "CREATE INDEX events_mac ON events(mac, id);",
    // 3: where install mode writes the image ('' = the agent picks the first fitting disk).
    "ALTER TABLE hosts ADD COLUMN disk TEXT NOT NULL DEFAULT '';",
};
static_assert(std::size(kMigrations) == StateStore::kSchemaVersion);

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  std::string error() const { return sqlite3_errmsg(db_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::optional<double>& v) {
    if (v)
      sqlite3_bind_double(stmt_, i, *v);
    else
      sqlite3_bind_null(stmt_, i);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col));
  }
  std::int64_t i64(int col) { return sqlite3_column_int64(stmt_, col); }
  std::optional<double> real(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::string labels_to_json(const Labels& labels) {
  return nlohmann::json(labels).dump();
}
Labels labels_from_json(const std::string& text) {
  Labels out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

const char* kHostColumns =
    "mac, hostname, labels, image, mode, state, reason, progress, token, ip, last_seen, created,"
    " progress_at_switch_root, progress_at_booted, disk";

HostRecord read_host(Statement& s) {
  HostRecord h;
  h.mac = s.text(0);
  h.hostname = s.text(1);
  h.labels = labels_from_json(s.text(2));
  h.image = s.text(3);
  if (auto m = parse_boot_mode(s.text(4))) h.mode = *m;
  if (auto st = parse_host_state(s.text(5))) h.state = *st;
  h.reason = s.text(6);
  h.progress = s.real(7).value_or(0);
  h.token = s.text(8);
  h.ip = s.text(9);
  h.last_seen_ms = s.i64(10);
  h.created_ms = s.i64(11);
  h.progress_at_switch_root = s.real(12);
  h.progress_at_booted = s.real(13);
  h.disk = s.text(14);
  return h;
}

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path, Logger log) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error{"could not open database " + path + ": " + why};
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<StateStore> store(new StateStore(db, std::move(log)));
  std::lock_guard lock(store->mutex_);
  // WAL: readers never block the writer; synchronous=NORMAL is durable across process crashes in WAL mode.
  if (auto s = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
      !s) {
    return wrap("could not open database " + path, s.error());
  }
  if (auto s = store->migrate(); !s) return wrap("could not migrate database " + path, s.error());
  return store;
}

StateStore::~StateStore() {
  std::lock_guard lock(mutex_);
  sqlite3_close_v2(db_);
}

Status StateStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Error{why};
  }
  return {};
}

Status StateStore::migrate() {
  Statement v(db_, "PRAGMA user_version");
  if (!v.ok() || v.step() != SQLITE_ROW) return Error{"could not read schema version: " + v.error()};
  int version = static_cast<int>(v.i64(0));
  if (version > kSchemaVersion) {
    return Error{"schema version " + std::to_string(version) + " is newer than this swarmbootd (" +
                 std::to_string(kSchemaVersion) + ")"};
  }
  for (; version < kSchemaVersion; ++version) {
    const std::string step = std::string("BEGIN IMMEDIATE;") + kMigrations[version] +
                             "PRAGMA user_version=" + std::to_string(version + 1) + ";COMMIT;";
    if (auto s = exec(step); !s) {
      (void)exec("ROLLBACK;");
      return Error{"step to version " + std::to_string(version + 1) + ": " + s.error().message};
    }
    log_.info("database schema migrated to version {}", version + 1);
  }
  return {};
}

int StateStore::schema_version() {
  std::lock_guard lock(mutex_);
  Statement v(db_, "PRAGMA user_version");
  return v.ok() && v.step() == SQLITE_ROW ? static_cast<int>(v.i64(0)) : -1;
}

Status StateStore::replace_images(const std::vector<ImageRecord>& images) {
  std::lock_guard lock(mutex_);
  if (auto s = exec("BEGIN IMMEDIATE; DELETE FROM images;"); !s)
    return wrap("could not store images", s.error());
  for (const auto& r : images) {
    Statement st(db_,
                 "INSERT INTO images(name, info_hash, size, piece_size, num_pieces, path, format, added)"
                 " VALUES(?,?,?,?,?,?,?,?)");
    st.bind(1, r.name)
        .bind(2, r.info_hash)
        .bind(3, r.size)
        .bind(4, r.piece_size)
        .bind(5, std::int64_t{r.num_pieces});
    st.bind(6, r.path).bind(7, std::string(to_string(r.format))).bind(8, r.added);
    if (!st.ok() || st.step() != SQLITE_DONE) {
      const std::string why = st.error();
      (void)exec("ROLLBACK;");
      return Error{"could not store image " + r.name + ": " + why};
    }
  }
  if (auto s = exec("COMMIT;"); !s) return wrap("could not store images", s.error());
  return {};
}

Result<std::vector<ImageRecord>> StateStore::images() {
  std::lock_guard lock(mutex_);
  Statement st(
      db_,
      "SELECT name, info_hash, size, piece_size, num_pieces, path, format, added FROM images ORDER BY name");
  if (!st.ok()) return Error{"could not list images: " + st.error()};
  std::vector<ImageRecord> out;
  while (st.step() == SQLITE_ROW) {
    ImageRecord r;
    r.name = st.text(0);
    r.info_hash = st.text(1);
    r.size = st.i64(2);
    r.piece_size = st.i64(3);
    r.num_pieces = static_cast<int>(st.i64(4));
    r.path = st.text(5);
    if (auto f = parse_image_format(st.text(6))) r.format = *f;
    r.added = st.i64(7);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<HostRecord>> StateStore::load_host(const char* where, const std::string& arg) {
  const std::string sql = std::string("SELECT ") + kHostColumns + " FROM hosts WHERE " + where + " LIMIT 1";
  Statement st(db_, sql.c_str());
  if (!st.ok()) return Error{"could not read host: " + st.error()};
  st.bind(1, arg);
  const int rc = st.step();
  if (rc == SQLITE_ROW) return std::optional<HostRecord>(read_host(st));
  if (rc == SQLITE_DONE) return std::optional<HostRecord>();
  return Error{"could not read host: " + st.error()};
}

Result<std::optional<HostRecord>> StateStore::host(const std::string& mac) {
  std::lock_guard lock(mutex_);
  return load_host("mac = ?", mac);
}

Result<std::optional<HostRecord>> StateStore::host_by_ip(const std::string& ip) {
  std::lock_guard lock(mutex_);
  return load_host("ip = ? ORDER BY last_seen DESC", ip);
}

Result<std::vector<HostRecord>> StateStore::hosts() {
  std::lock_guard lock(mutex_);
  const std::string sql = std::string("SELECT ") + kHostColumns + " FROM hosts ORDER BY mac";
  Statement st(db_, sql.c_str());
  if (!st.ok()) return Error{"could not list hosts: " + st.error()};
  std::vector<HostRecord> out;
  while (st.step() == SQLITE_ROW) out.push_back(read_host(st));
  return out;
}

Result<std::map<std::string, int>> StateStore::host_counts_by_state() {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT state, COUNT(*) FROM hosts GROUP BY state");
  if (!st.ok()) return Error{"could not count hosts: " + st.error()};
  std::map<std::string, int> out;
  while (st.step() == SQLITE_ROW) out[st.text(0)] = static_cast<int>(st.i64(1));
  return out;
}

Result<std::optional<HostRecord>> StateStore::change_host(const std::string& mac, const HostChange& change) {
  std::lock_guard lock(mutex_);
  if (auto s = exec("BEGIN IMMEDIATE;"); !s) return wrap("could not change host " + mac, s.error());
  auto rollback = [&](const Error& e) -> Result<std::optional<HostRecord>> {
    (void)exec("ROLLBACK;");
    return e;
  };
  auto current = load_host("mac = ?", mac);
  if (!current) return rollback(current.error());
  std::optional<HostRecord> host = *current;
  std::vector<EventRecord> events;
  if (auto s = change(host, events); !s) return rollback(s.error());
  if (host) {
    host->mac = mac;
    Statement st(
        db_,
        "INSERT OR REPLACE INTO hosts(mac, hostname, labels, image, mode, state, reason, progress, token, ip,"
        " last_seen, created, progress_at_switch_root, progress_at_booted, disk)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    st.bind(1, host->mac).bind(2, host->hostname).bind(3, labels_to_json(host->labels)).bind(4, host->image);
    st.bind(5, std::string(to_string(host->mode)))
        .bind(6, std::string(to_string(host->state)))
        .bind(7, host->reason);
    st.bind(8, std::optional<double>(host->progress)).bind(9, host->token).bind(10, host->ip);
    st.bind(11, host->last_seen_ms).bind(12, host->created_ms).bind(13, host->progress_at_switch_root);
    st.bind(14, host->progress_at_booted).bind(15, host->disk);
    if (!st.ok() || st.step() != SQLITE_DONE)
      return rollback(Error{"could not store host " + mac + ": " + st.error()});
  } else if (current->has_value()) {
    Statement st(db_, "DELETE FROM hosts WHERE mac = ?");
    st.bind(1, mac);
    if (!st.ok() || st.step() != SQLITE_DONE)
      return rollback(Error{"could not delete host " + mac + ": " + st.error()});
  }
  for (auto& e : events) {
    Statement st(db_,
                 "INSERT INTO events(time, mac, kind, state, stage, progress, message, agent) "
                 "VALUES(?,?,?,?,?,?,?,?)");
    st.bind(1, e.time_ms).bind(2, mac).bind(3, e.kind).bind(4, e.state).bind(5, e.stage).bind(6, e.progress);
    st.bind(7, e.message).bind(8, e.agent_json);
    if (!st.ok() || st.step() != SQLITE_DONE)
      return rollback(Error{"could not store event for " + mac + ": " + st.error()});
  }
  if (auto s = exec("COMMIT;"); !s) return rollback(wrap("could not change host " + mac, s.error()));
  return host;
}

Result<std::vector<EventRecord>> StateStore::events(const std::string& mac, std::int64_t after_id,
                                                    int limit) {
  std::lock_guard lock(mutex_);
  const char* sql = mac.empty()
                        ? "SELECT id, time, mac, kind, state, stage, progress, message, agent FROM events"
                          " WHERE id > ? ORDER BY id LIMIT ?"
                        : "SELECT id, time, mac, kind, state, stage, progress, message, agent FROM events"
                          " WHERE id > ? AND mac = ? ORDER BY id LIMIT ?";
  Statement st(db_, sql);
  if (!st.ok()) return Error{"could not list events: " + st.error()};
  st.bind(1, after_id);
  if (mac.empty()) {
    st.bind(2, std::int64_t{limit});
  } else {
    st.bind(2, mac).bind(3, std::int64_t{limit});
  }
  std::vector<EventRecord> out;
  while (st.step() == SQLITE_ROW) {
    EventRecord e;
    e.id = st.i64(0);
    e.time_ms = st.i64(1);
    e.mac = st.text(2);
    e.kind = st.text(3);
    e.state = st.text(4);
    e.stage = st.text(5);
    e.progress = st.real(6);
    e.message = st.text(7);
    e.agent_json = st.text(8);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace swarmboot::server
