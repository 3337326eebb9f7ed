// Fuzzes identifier parsing (MACs, labels, hostnames, Range headers) and the script renderer: a fuzzed
// hostname, image name or label that passes validation must never change the script's line structure
// (no iPXE command injection).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/boot_script.hpp"
#include "core/http_range.hpp"
#include "core/validation.hpp"

using namespace swarmboot::server;

namespace {

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto mac = canonical_mac(text)) {
    if (mac->size() != 17 || !canonical_mac(*mac) || *canonical_mac(*mac) != *mac) std::abort();
  }
  (void)parse_label(text);
  (void)validate_token(text);
  const std::int64_t file_size = size > 0 ? data[0] * 1000 : 0;
  const RangeDecision d = decide_range(text, file_size);
  if (d.kind == RangeDecision::partial &&
      (d.offset < 0 || d.length <= 0 || d.offset + d.length > file_size)) {
    std::abort();
  }

  BootScriptSettings settings;
  settings.server_url = "http://10.0.0.1:8080";
  BootTarget t{
      "52:54:00:12:34:56",   "host", "image", std::string(40, 'a'), BootMode::diskless, HostState::fresh,
      "0123456789abcdef0123"};
  const std::string baseline = render_host_script(t, "x86_64", settings).value();
  const std::size_t half = text.size() / 2;
  t.hostname = text.substr(0, half);
  t.image = text.substr(half);
  if (auto script = render_host_script(t, "x86_64", settings)) {
    if (lines(*script) != lines(baseline)) std::abort();
    if (t.hostname.find_first_of("$\n\r;|&") != std::string::npos) std::abort();
  }
  const std::size_t later_lines =
      lines(render_retry_later_script("52:54:00:12:34:56", "x", settings).value());
  if (auto later = render_retry_later_script("52:54:00:12:34:56", text, settings)) {
    if (lines(*later) != later_lines) std::abort();
  }
  return 0;
}
