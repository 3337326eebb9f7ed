// Boot profile parsing (see boot_profile.hpp).
#include "swarmcore/boot_profile.hpp"

#include <fmt/format.h>

#include <sstream>

namespace swarmboot {

Result<std::vector<ByteRange>> parse_boot_profile(const std::string& text, std::int64_t image_size) {
  std::vector<ByteRange> out;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    ByteRange r;
    std::string rest;
    if (!(f >> r.offset >> r.length) || (f >> rest) || r.offset < 0 || r.length <= 0)
      return Error{fmt::format("boot profile line {} is not \"offset length\"", lineno)};
    if (r.offset >= image_size || r.length > image_size - r.offset)
      return Error{fmt::format("boot profile line {}: [{}, +{}) is outside the {}-byte image", lineno, r.offset,
                               r.length, image_size)};
    out.push_back(r);
  }
  return out;
}

}  // namespace swarmboot
