// Range header evaluation; see http_range.hpp.
#include "core/http_range.hpp"

#include <charconv>

namespace swarmboot::server {
namespace {

bool parse_number(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && out >= 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RangeDecision decide_range(std::string_view header, std::int64_t size) {
  RangeDecision whole{RangeDecision::full, 0, size};
  header = trim(header);
  constexpr std::string_view unit = "bytes=";
  // Unknown units and syntax errors are ignored (RFC 9110: a server MAY ignore Range), answering 200.
  if (header.substr(0, unit.size()) != unit) return whole;
  const std::string_view spec = trim(header.substr(unit.size()));
  if (spec.find(',') != std::string_view::npos) return whole;
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view first = trim(spec.substr(0, dash));
  const std::string_view last = trim(spec.substr(dash + 1));
  std::int64_t a = 0;
  std::int64_t b = 0;
  if (first.empty()) {  // suffix: the last N bytes
    if (!parse_number(last, b)) return whole;
    if (b == 0 || size == 0) return {RangeDecision::unsatisfiable, 0, 0};
    const std::int64_t n = b < size ? b : size;
    return {RangeDecision::partial, size - n, n};
  }
  if (!parse_number(first, a)) return whole;
  if (last.empty()) {
    b = size - 1;
  } else if (!parse_number(last, b) || b < a) {
    return whole;
  }
  if (a >= size) return {RangeDecision::unsatisfiable, 0, 0};
  if (b >= size) b = size - 1;
  return {RangeDecision::partial, a, b - a + 1};
}

}  // namespace swarmboot::server
