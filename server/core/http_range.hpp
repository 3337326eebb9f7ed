// The web seed's Range handling (RFC 9110 §14) as a pure function: one byte range per request, which is
// what libtorrent's web seed and curl send. Multi-range requests get the whole file (allowed by the RFC).
#pragma once

#include <cstdint>
#include <string_view>

namespace swarmboot::server {

struct RangeDecision {
  enum Kind { full, partial, unsatisfiable } kind = full;
  std::int64_t offset = 0;
  std::int64_t length = 0;  // bytes to send
};

// `header` is the Range header value (empty when absent); `size` the file size.
RangeDecision decide_range(std::string_view header, std::int64_t size);

}  // namespace swarmboot::server
