// `swarmboot image build|add`: parse (pure) → run one build or registration → one line of error on failure.
#include "swarmboot/images/image_command.hpp"

#include <boost/program_options.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "swarmboot/images/image_build.hpp"
#include "swarmcore/log.hpp"

namespace swarmboot::images {
namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: swarmboot image build --from-dir DIR --out FILE [--disk [--disk-size BYTES] [--kernel FILE]]\n"
    "       swarmboot image build --sample --out FILE [--disk [--disk-size BYTES] [--kernel FILE]]\n"
    "       swarmboot image build --debian SUITE --out FILE [--cache-dir DIR] [--mirror URL]\n"
    "       swarmboot image add FILE --name NAME --registry DIR [--piece-size BYTES]\n";

Error bad(const std::string& why) { return Error{"could not parse the command line: " + why}; }

Result<ImageCommand> parse_build(const std::vector<std::string>& args) {
  std::string from_dir, out, debian, cache_dir, mirror, disk_size_text;
  bool sample = false, help = false;
  DiskOptions disk;
  po::options_description d("swarmboot image build");
  // clang-format off
  d.add_options()
    ("from-dir", po::value(&from_dir), "squashfs of this root folder")
    ("sample", po::bool_switch(&sample), "the busybox sample OS")
    ("debian", po::value(&debian), "a minimal Debian of this suite (e.g. bookworm), via debootstrap")
    ("out", po::value(&out), "the image file to write")
    ("cache-dir", po::value(&cache_dir), "where the debootstrap tree is cached (default $SWARMBOOT_CACHE or ~/.cache/swarmboot)")
    ("mirror", po::value(&mirror), "Debian mirror (default: the one apt uses)")
    ("disk", po::bool_switch(&disk.disk), "a bootable BIOS disk (MBR, FAT partition with syslinux, kernel, the root as initrd) instead of a squashfs")
    ("disk-size", po::value(&disk_size_text), "with --disk: the disk's size, e.g. 64M (default: just big enough); the rest is free space")
    ("kernel", po::value(&disk.kernel), "with --disk: the kernel to boot (default: the newest /boot/vmlinuz-*)")
    ("help,h", po::bool_switch(&help), "this help");
  // clang-format on
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (help) {
    std::ostringstream s;
    s << kUsage << "\n" << d;
    return ImageCommand{ImageHelp{s.str()}};
  }
  const int sources = (from_dir.empty() ? 0 : 1) + (sample ? 1 : 0) + (debian.empty() ? 0 : 1);
  if (sources != 1) return bad("give exactly one of --from-dir DIR, --sample, --debian SUITE");
  if (out.empty()) return bad("--out FILE is required");
  if (!debian.empty() && debian.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos)
    return bad("--debian '" + debian + "' is not a suite name");
  if (!disk.disk && (!disk_size_text.empty() || !disk.kernel.empty()))
    return bad("--disk-size and --kernel only go with --disk");
  if (disk.disk && !debian.empty()) return bad("--disk goes with --sample or --from-dir, not --debian");
  if (!disk_size_text.empty()) {
    auto size = parse_byte_size(disk_size_text);
    if (!size) return bad("--disk-size: " + size.error().message);
    disk.disk_size = *size;
  }
  if (!from_dir.empty()) return ImageCommand{BuildFromDir{from_dir, out, disk}};
  if (sample) return ImageCommand{BuildSample{out, disk}};
  return ImageCommand{BuildDebian{debian, out, cache_dir, mirror}};
}

Result<ImageCommand> parse_add(const std::vector<std::string>& args) {
  AddImage a;
  a.piece_size = kDefaultPieceSize;
  bool help = false;
  po::options_description d("swarmboot image add");
  // clang-format off
  d.add_options()
    ("file", po::value(&a.file), "the image file")
    ("name", po::value(&a.name), "image name: 1-64 of [a-z0-9._-]")
    ("registry", po::value(&a.registry), "registry folder (swarmbootd's DATA_DIR/images)")
    ("piece-size", po::value(&a.piece_size), "torrent piece size in bytes, a power of two from 16 KiB to 16 MiB (default 1 MiB)")
    ("help,h", po::bool_switch(&help), "this help");
  // clang-format on
  po::positional_options_description pos;
  pos.add("file", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (help) {
    std::ostringstream s;
    s << kUsage << "\n" << d;
    return ImageCommand{ImageHelp{s.str()}};
  }
  if (a.file.empty()) return bad("the image FILE is required");
  if (a.name.empty()) return bad("--name NAME is required");
  if (a.registry.empty()) return bad("--registry DIR is required");
  if (auto s = validate_image_name(a.name); !s) return bad("--name: " + s.error().message);
  if (auto s = validate_piece_size(a.piece_size); !s) return bad("--piece-size: " + s.error().message);
  return ImageCommand{a};
}

// The DiskBuild for --disk: the kernel given, or the newest one installed.
Result<DiskBuild> disk_build_for(const DiskOptions& o) {
  DiskBuild build;
  if (!o.kernel.empty()) {
    build.kernel = o.kernel;
  } else if (auto k = newest_kernel()) {
    build.kernel = *k;
  } else {
    return Error{"could not find a kernel: no /boot/vmlinuz-* (install linux-image-amd64, or give --kernel FILE)"};
  }
  if (o.disk_size > 0) build.disk_size = static_cast<std::uint64_t>(o.disk_size);
  return build;
}

}  // namespace

Result<std::int64_t> parse_byte_size(const std::string& text) {
  size_t end = 0;
  std::int64_t n = 0;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
    if (n > (INT64_MAX - 9) / 10) return Error{"'" + text + "' is too large"};
    n = n * 10 + (text[end] - '0');
    ++end;
  }
  if (end == 0) return Error{"'" + text + "' is not a size in bytes (e.g. 67108864 or 64M)"};
  std::string unit = text.substr(end);
  if (unit.ends_with("iB")) unit.resize(unit.size() - 2);
  int shift = 0;
  if (unit == "") shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else return Error{"'" + text + "' has an unknown unit (K, M, G: binary multiples)"};
  if (n > (INT64_MAX >> shift)) return Error{"'" + text + "' is too large"};
  if (n == 0) return Error{"'" + text + "' is not a positive size"};
  return n << shift;
}

Result<ImageCommand> parse_image_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") return ImageCommand{ImageHelp{kUsage}};
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "build") return parse_build(rest);
  if (args[0] == "add") return parse_add(rest);
  return bad("unknown image command '" + args[0] + "' (build, add)");
}

void print_image_record(const ImageRecord& r, const std::string& registry_dir, std::ostream& out) {
  out << "name:      " << r.name << "\n"
      << "size:      " << r.size << " bytes\n"
      << "format:    " << to_string(r.format) << "\n"
      << "pieces:    " << r.num_pieces << " x " << r.piece_size << " bytes\n"
      << "info-hash: " << r.info_hash << "\n"
      << "torrent:   " << (std::filesystem::path(registry_dir) / (r.name + ".torrent")).string() << "\n";
}

int run_image_command(const std::vector<std::string>& args) {
  auto cmd = parse_image_command(args);
  if (!cmd) {
    std::cerr << "swarmboot image: " << cmd.error().message << "\n" << kUsage;
    return 2;
  }
  const Logger log(std::make_shared<LogSink>(LogLevel::info), "image");
  const auto fail = [](const Error& e) {
    std::cerr << "swarmboot image: " << e.message << "\n";
    return 1;
  };
  if (auto* h = std::get_if<ImageHelp>(&*cmd)) {
    std::cout << h->text;
    return 0;
  }
  if (auto* a = std::get_if<AddImage>(&*cmd)) {
    ImageRegistry registry(a->registry);
    auto record = registry.add(a->file, a->name, a->piece_size);
    if (!record) return fail(record.error());
    print_image_record(*record, a->registry, std::cout);
    return 0;
  }
  Status built;
  std::string out;
  if (auto* b = std::get_if<BuildFromDir>(&*cmd)) {
    out = b->out;
    if (b->disk.disk) {
      auto build = disk_build_for(b->disk);
      built = build ? build_disk_from_dir(b->dir, b->out, *build, log) : Status(build.error());
    } else {
      built = build_from_dir(b->dir, b->out, log);
    }
  } else if (auto* s = std::get_if<BuildSample>(&*cmd)) {
    out = s->out;
    if (s->disk.disk) {
      auto build = disk_build_for(s->disk);
      built = build ? build_sample_disk(s->out, *build, log) : Status(build.error());
    } else {
      built = build_sample(s->out, log);
    }
  } else if (auto* d = std::get_if<BuildDebian>(&*cmd)) {
    out = d->out;
    DebianBuild build;
    build.suite = d->suite;
    build.mirror = d->mirror;
    build.cache_dir = d->cache_dir.empty()
                          ? default_cache_dir(std::getenv("SWARMBOOT_CACHE"), std::getenv("XDG_CACHE_HOME"),
                                              std::getenv("HOME"))
                          : std::filesystem::path(d->cache_dir);
    built = build_debian(build, d->out, log);
  }
  if (!built) return fail(built.error());
  std::error_code ec;
  std::cout << "built " << out << " (" << std::filesystem::file_size(out, ec) << " bytes)\n";
  return 0;
}

}  // namespace swarmboot::images
