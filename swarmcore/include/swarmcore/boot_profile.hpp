// Boot profiles: the byte ranges of an image that a boot reads, as "offset length" lines ('#' starts a
// comment line) — the format of bench/'s boot traces. swarmboot-agent records one from a real boot
// (--record-reads) and fetches the pieces a profile names before any others (--boot-profile); swarmbootd
// stores one per image and serves it. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot {

struct ByteRange {
  std::int64_t offset = 0;
  std::int64_t length = 0;
  bool operator==(const ByteRange&) const = default;
};

// Every range, in file order. An Error naming the line for a line that is not "offset length" or a range
// outside an image of `image_size` bytes.
Result<std::vector<ByteRange>> parse_boot_profile(const std::string& text, std::int64_t image_size);

}  // namespace swarmboot
