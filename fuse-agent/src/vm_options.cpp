// The `swarmboot-agent vm` command line and the argv it runs (see vm_options.hpp). The mount flags are
// spelled exactly as `mount`'s, so the initramfs can start either with the same words.
#include "vm_options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace po = boost::program_options;

namespace swarmboot::agent {

namespace {

const char* kVmUsage =
    "usage: swarmboot-agent vm --torrent PATH|URL --cache DIR --mountpoint DIR --overlay FILE [options]\n";

Error bad(const std::string& why) { return Error{"could not parse the command line: " + why}; }

bool has(const std::vector<std::string>& args, const std::string& word) {
  return std::find(args.begin(), args.end(), word) != args.end();
}

}  // namespace

Result<VmCommand> parse_vm_command_line(const std::vector<std::string>& args) {
  VmOptions v;
  MountOptions& o = v.mount;
  o.foreground = true;
  std::vector<std::string> peers;
  int read_timeout_s = 120;
  double stall_after_s = 4;
  po::options_description desc("vm options");
  // clang-format off
  desc.add_options()
      ("help,h", "this help")
      ("torrent", po::value(&o.torrent)->required(), "the disk image's .torrent: a path or http:// URL")
      ("cache", po::value(&o.cache_dir)->required(), "directory holding the downloaded image and resume data")
      ("mountpoint", po::value(&o.mountpoint)->required(), "directory where MOUNTPOINT/<image> appears");
  add_swarm_options(desc, o, peers, "URL to POST status reports to (the host's events)");
  desc.add_options()
      ("read-timeout", po::value(&read_timeout_s), "seconds before an undeliverable read fails with EIO")
      ("stall-after", po::value(&stall_after_s), "seconds a read may wait on the swarm before the web seed");
  add_logging_options(desc, o);
  desc.add_options()
      ("overlay", po::value(&v.overlay)->required(), "qcow2 overlay to create on local storage (the guest's writes)")
      ("reuse-overlay", po::bool_switch(&v.reuse_overlay), "use an existing --overlay as it is")
      ("qemu", po::value(&v.qemu), "QEMU binary (default qemu-system-x86_64)")
      ("qemu-img", po::value(&v.qemu_img), "qemu-img binary (default qemu-img)")
      ("memory", po::value(&v.memory_mib), "guest memory in MiB (default 512)")
      ("cpus", po::value(&v.cpus), "guest CPUs (default 1)")
      ("qemu-arg", po::value(&v.qemu_args)->composing(), "one more QEMU argument, appended (repeatable)")
      ("serial", po::value(&v.serial), "file for the guest's serial console (default: stdio)");
  // clang-format on
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::ostringstream s;
      s << kVmUsage << desc;
      return VmCommand{HelpRequest{s.str()}};
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(e.what());
  }
  if (auto st = finish_swarm_options(o, peers); !st) return st.error();
  if (read_timeout_s < 1) return bad("--read-timeout must be at least 1 second");
  if (stall_after_s < 0) return bad("--stall-after must not be negative");
  o.read_timeout = std::chrono::seconds(read_timeout_s);
  o.stall_after = std::chrono::milliseconds(static_cast<long>(stall_after_s * 1000));
  if (v.overlay.empty()) return bad("--overlay FILE must not be empty");
  if (v.memory_mib < 16 || v.memory_mib > 1 << 20) return bad("--memory must be 16 to 1048576 MiB");
  if (v.cpus < 1 || v.cpus > 256) return bad("--cpus must be 1 to 256");
  // QEMU's -serial file:PATH cannot escape a comma.
  if (v.serial.find(',') != std::string::npos) return bad("--serial: QEMU cannot take a path with a comma");
  return VmCommand{v};
}

std::string qemu_option_path(const std::string& path) {
  std::string out;
  for (char c : path) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::vector<std::string> qemu_img_create_argv(const std::string& qemu_img, const std::string& backing,
                                              const std::string& overlay, std::int64_t size) {
  return {qemu_img, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", backing, "-u", overlay, std::to_string(size)};
}

std::vector<std::string> qemu_argv(const VmOptions& o) {
  std::vector<std::string> argv{o.qemu,
                                "-m",
                                std::to_string(o.memory_mib),
                                "-smp",
                                std::to_string(o.cpus),
                                "-drive",
                                "file=" + qemu_option_path(o.overlay) + ",format=qcow2,if=virtio"};
  const bool nographic = has(o.qemu_args, "-nographic");
  if (!o.serial.empty()) {
    argv.insert(argv.end(), {"-serial", "file:" + o.serial});
  } else if (!nographic) {
    argv.insert(argv.end(), {"-serial", "stdio"});
  }
  if (!nographic && !has(o.qemu_args, "-display")) argv.insert(argv.end(), {"-display", "none"});
  argv.insert(argv.end(), o.qemu_args.begin(), o.qemu_args.end());
  return argv;
}

std::string vm_report_json(const std::string& state, const std::string& message, std::optional<double> progress) {
  nlohmann::json j = {{"state", state}, {"stage", "vm"}, {"message", message}};
  if (progress) j["progress"] = *progress;
  return j.dump();
}

std::optional<double> progress_from_status_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("progress") || !j["progress"].is_number()) return std::nullopt;
  return j["progress"].get<double>();
}

}  // namespace swarmboot::agent
