// Boot profile parsing: "offset length" lines inside the image, '#' comments; anything else is an error that
// names the line.
#include <gtest/gtest.h>

#include "swarmcore/boot_profile.hpp"

using swarmboot::ByteRange;
using swarmboot::parse_boot_profile;

TEST(BootProfile, ParsesRangesAndSkipsCommentsAndBlankLines) {
  auto r = parse_boot_profile("# recorded\n0 4096\n\n65536 131072\n1048000 576\n", 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<ByteRange>{{0, 4096}, {65536, 131072}, {1048000, 576}}));
  EXPECT_TRUE(parse_boot_profile("", 100)->empty());
}

TEST(BootProfile, BadLinesAndRangesOutsideTheImageNameTheLine) {
  struct Case {
    std::string text;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"0 10\n12 abc\n", "line 2 is not"},
      {"0\n", "line 1 is not"},
      {"0 10 20\n", "line 1 is not"},
      {"-5 10\n", "line 1 is not"},
      {"5 0\n", "line 1 is not"},
      {"0 10\n# c\n95 6\n", "line 3: [95, +6) is outside the 100-byte image"},
      {"100 1\n", "outside"},
      {"0 9223372036854775807\n", "outside"},
  };
  for (const auto& c : cases) {
    auto r = parse_boot_profile(c.text, 100);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}
