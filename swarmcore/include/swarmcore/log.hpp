// One logger type for every program, named by subsystem ("agent.fuse", "server.http", "dnsmasq").
// Lines go to one sink (stderr by default) as "2026-11-26T21:00:00.123Z INFO  subsystem: message".
// Loggers are cheap values; a sink is shared and thread-safe. There is no global logger: pass one in.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace swarmboot {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug|info|warn|error"; returns false on anything else.
bool parse_log_level(std::string_view text, LogLevel& out);

// Where log lines end up. Thread-safe.
class LogSink {
 public:
  // Writes to stderr (or to `write` when given, e.g. a test capturing lines).
  explicit LogSink(LogLevel min_level = LogLevel::info, std::function<void(std::string_view)> write = {});
  void emit(LogLevel level, std::string_view subsystem, std::string_view message);
  LogLevel min_level() const { return min_level_; }

 private:
  LogLevel min_level_;
  std::function<void(std::string_view)> write_;
  std::mutex mutex_;  // serialises write_
};

class Logger {
 public:
  Logger(std::shared_ptr<LogSink> sink, std::string subsystem)
      : sink_(std::move(sink)), subsystem_(std::move(subsystem)) {}

  // A logger for a child subsystem: Logger("server").child("http") logs as "server.http".
  Logger child(std::string_view name) const { return Logger(sink_, subsystem_ + "." + std::string(name)); }

  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::debug, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::info, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::warn, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const {
    log(LogLevel::error, f, std::forward<Args>(args)...);
  }
  const std::string& subsystem() const { return subsystem_; }

 private:
  template <class... Args>
  void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) const {
    if (level < sink_->min_level()) return;
    sink_->emit(level, subsystem_, fmt::format(f, std::forward<Args>(args)...));
  }

  std::shared_ptr<LogSink> sink_;
  std::string subsystem_;
};

}  // namespace swarmboot
