// LogSink: timestamps and serialises log lines.
#include "swarmcore/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace swarmboot {

bool parse_log_level(std::string_view text, LogLevel& out) {
  if (text == "debug") out = LogLevel::debug;
  else if (text == "info") out = LogLevel::info;
  else if (text == "warn") out = LogLevel::warn;
  else if (text == "error") out = LogLevel::error;
  else return false;
  return true;
}

LogSink::LogSink(LogLevel min_level, std::function<void(std::string_view)> write)
    : min_level_(min_level), write_(std::move(write)) {}

void LogSink::emit(LogLevel level, std::string_view subsystem, std::string_view message) {
  static constexpr const char* kNames[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line = fmt::format("{}.{:03}Z {} {}: {}\n", stamp, millis, kNames[static_cast<int>(level)],
                                 subsystem, message);
  std::lock_guard lock(mutex_);
  if (write_) {
    write_(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace swarmboot
