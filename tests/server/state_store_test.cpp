// The SQLite store on a real database file: migrations, transactional host changes, reopening.
#include "daemon/state_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "temp_dir.hpp"

namespace swarmboot::server {
namespace {

Logger quiet() {
  return Logger(std::make_shared<LogSink>(LogLevel::error), "test");
}

TEST(StateStore, MigratesAndReopens) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "state.db").string();
  {
    auto store = StateStore::open(path, quiet());
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ((*store)->schema_version(), StateStore::kSchemaVersion);
    auto changed = (*store)->change_host("52:54:00:00:00:01",
                                         [](std::optional<HostRecord>& h, std::vector<EventRecord>& ev) {
                                           h = HostRecord{};
                                           h->labels = {{"rack", "r1"}};
                                           h->token = "t0123456789abcdef";
                                           ev.push_back({0, 5, "", "register", "new", "", 0.5, "hello", ""});
                                           return Status{};
                                         });
    ASSERT_TRUE(changed.ok()) << changed.error().message;
  }
  auto store = StateStore::open(path, quiet());
  ASSERT_TRUE(store.ok());
  auto h = (*store)->host("52:54:00:00:00:01");
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_EQ((*h)->labels.at("rack"), "r1");
  auto events = (*store)->events("52:54:00:00:00:01", 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "hello");
  EXPECT_DOUBLE_EQ(*(*events)[0].progress, 0.5);
}

TEST(StateStore, FailedChangeRollsBack) {
  testing::TempDir dir;
  auto store = StateStore::open((dir.path() / "state.db").string(), quiet());
  ASSERT_TRUE(store.ok());
  auto r = (*store)->change_host("52:54:00:00:00:02",
                                 [](std::optional<HostRecord>& h, std::vector<EventRecord>& ev) {
                                   h = HostRecord{};
                                   ev.push_back({0, 1, "", "register", "new", "", std::nullopt, "", ""});
                                   return Status{Error{"refused"}};
                                 });
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE((*store)->host("52:54:00:00:00:02")->has_value());
  EXPECT_TRUE((*store)->events("", 0, 10)->empty());
}

TEST(StateStore, MigratesAVersionOneDatabase) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "state.db").string();
  {
    auto store = StateStore::open(path, quiet());
    ASSERT_TRUE(store.ok());
  }
  // Step the file back to version 1 (drop what steps 2 and 3 added), as an older swarmbootd left it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP INDEX hosts_ip; DROP INDEX events_mac; ALTER TABLE hosts DROP COLUMN disk;"
                         "INSERT INTO hosts(mac, mode, state, token, created) VALUES"
                         "('52:54:00:00:00:01', 'install', 'installed', 'tok', 1);"
                         "PRAGMA user_version=1;", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = StateStore::open(path, quiet());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), StateStore::kSchemaVersion);
  // The host written by the old version is still there, with the new column's default ("auto").
  auto host = (*store)->host("52:54:00:00:00:01");
  ASSERT_TRUE(host.ok()) << host.error().message;
  ASSERT_TRUE(host->has_value());
  EXPECT_EQ((*host)->state, HostState::installed);
  EXPECT_EQ((*host)->disk, "");
  auto changed = (*store)->change_host("52:54:00:00:00:01", [](std::optional<HostRecord>& h, std::vector<EventRecord>&) {
    h->disk = "/dev/vdb";
    return Status{};
  });
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  auto again = (*store)->host("52:54:00:00:00:01");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->disk, "/dev/vdb");
}

TEST(StateStore, RefusesANewerSchema) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "state.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = StateStore::open(path, quiet());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace swarmboot::server
