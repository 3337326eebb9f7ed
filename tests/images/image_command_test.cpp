// `swarmboot image` command-line parsing and the pure helpers (mirror, cache folder, tool argv), as tables.
#include <gtest/gtest.h>

#include "swarmboot/images/image_build.hpp"
#include "swarmboot/images/image_command.hpp"
#include "swarmcore/process.hpp"

#include <sstream>

using namespace swarmboot;
using namespace swarmboot::images;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(ParseImageCommand, AcceptsEachForm) {
  auto a = parse_image_command(split("build --from-dir /r --out /o.img"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto* from = std::get_if<BuildFromDir>(&*a);
  ASSERT_NE(from, nullptr);
  EXPECT_EQ(from->dir, "/r");
  EXPECT_EQ(from->out, "/o.img");

  auto b = parse_image_command(split("build --sample --out s.img"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::get<BuildSample>(*b).out, "s.img");

  auto c = parse_image_command(split("build --debian bookworm --out d.img --cache-dir /c"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::get<BuildDebian>(*c).suite, "bookworm");
  EXPECT_EQ(std::get<BuildDebian>(*c).cache_dir, "/c");

  auto d = parse_image_command(split("add f.img --name sample --registry /reg"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<AddImage>(*d).file, "f.img");
  EXPECT_EQ(std::get<AddImage>(*d).piece_size, kDefaultPieceSize);

  auto e = parse_image_command(split("add f.img --name sample --registry /reg --piece-size 65536"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::get<AddImage>(*e).piece_size, 65536);
}

TEST(ParseImageCommand, RejectsBadInputNamingTheFlag) {
  const struct {
    const char* args;
    const char* says;
  } cases[] = {
      {"frobnicate", "unknown image command 'frobnicate'"},
      {"build --out x.img", "exactly one of"},
      {"build --sample --from-dir /r --out x.img", "exactly one of"},
      {"build --sample", "--out FILE is required"},
      {"build --debian Bookworm! --out x", "not a suite name"},
      {"build --sample --out x --bogus", "bogus"},
      {"add --name a --registry r", "the image FILE is required"},
      {"add f --registry r", "--name NAME is required"},
      {"add f --name a", "--registry DIR is required"},
      {"add f --name Bad/Name --registry r", "--name"},
      {"add f --name a --registry r --piece-size 1000", "--piece-size"},
      {"add f --name a --registry r --piece-size lots", "piece-size"},
  };
  for (const auto& c : cases) {
    auto r = parse_image_command(split(c.args));
    ASSERT_FALSE(r.ok()) << c.args;
    EXPECT_NE(r.error().message.find("could not parse the command line"), std::string::npos) << c.args;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.args << " -> " << r.error().message;
  }
}

TEST(MirrorFromAptSources, ReadsDeb822AndOneLineFormatsSkippingSecurity) {
  EXPECT_EQ(mirror_from_apt_sources("Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: x\n\n"
                                    "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"),
            "http://mirror.example/debian");
  EXPECT_EQ(mirror_from_apt_sources("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/d bookworm main\n"),
            "http://m.example/d");
  EXPECT_EQ(mirror_from_apt_sources("deb http://security.debian.org/ bookworm-security main\n"), std::nullopt);
  EXPECT_EQ(mirror_from_apt_sources(""), std::nullopt);
}

TEST(DefaultCacheDir, PrefersSwarmbootCacheThenXdgThenHome) {
  EXPECT_EQ(default_cache_dir("/c", "/x", "/h"), "/c");
  EXPECT_EQ(default_cache_dir(nullptr, "/x", "/h"), "/x/swarmboot");
  EXPECT_EQ(default_cache_dir("", "", "/h"), "/h/.cache/swarmboot");
}

TEST(ToolArgv, SquashfsIsReproducibleAndNeverAppends) {
  const auto argv = mksquashfs_argv("/root", "/out.img");
  const std::string joined = describe_command(argv);
  EXPECT_EQ(joined,
            "mksquashfs /root /out.img -noappend -comp zstd -all-root -mkfs-time 0 -all-time 0 -no-progress");
  const auto deb = debootstrap_argv("bookworm", "/cache/t", "http://m/debian");
  EXPECT_EQ(deb.front(), "debootstrap");
  EXPECT_EQ(deb.back(), "http://m/debian");
  EXPECT_NE(describe_command(deb).find("--variant=minbase"), std::string::npos);
  EXPECT_NE(describe_command(deb).find("systemd-sysv"), std::string::npos);
}

TEST(Templates, SampleHasAnExecutableInitAndTheDebianUnitReportsBooted) {
  bool init = false, report = false;
  for (const auto& f : sample_template()) {
    if (f.path == "sbin/init") {
      init = true;
      EXPECT_EQ(template_file_mode(f), 0755u);
      EXPECT_TRUE(f.content.starts_with("#!/bin/busybox sh"));
    }
    if (f.path == "sbin/swarmboot-report") report = true;
    if (f.path == "etc/inittab") {
      EXPECT_EQ(template_file_mode(f), 0644u);
    }
  }
  EXPECT_TRUE(init);
  EXPECT_TRUE(report);
  ASSERT_EQ(debian_template().size(), 1u);
  EXPECT_NE(debian_template()[0].content.find("WantedBy=multi-user.target"), std::string::npos);
  EXPECT_NE(debian_template()[0].content.find("swarmboot-report"), std::string::npos);
}

}  // namespace
