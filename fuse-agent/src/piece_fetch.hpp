// One piece from the server's image URL: an HTTP Range request for exactly [offset, offset + length). The
// caller verifies the bytes against the piece hash before using them; an answer of the wrong length or
// status is an Error naming what came back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// "bytes=OFFSET-LAST" for a piece.
std::string range_header_for(std::int64_t offset, std::int64_t length);

Result<std::string> fetch_byte_range(const std::string& url, std::int64_t offset, std::int64_t length,
                                     std::chrono::milliseconds timeout);

}  // namespace swarmboot::agent
