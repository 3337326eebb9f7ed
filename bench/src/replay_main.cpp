// swarmboot-bench-replay: replays a boot read trace ("offset length" lines) against an image file — a lazy
// FUSE mount or a fully downloaded copy — and checks every byte read against the reference image, so a lazy
// read that returned zeros or stale data counts as a failure, not as a fast read. With --after it first waits
// for a file to appear (the "download fully, then read" baseline waits for its download's done file).
// Writes "UNIX_TIME ok|mismatch|error" to --done-file when finished.
#include <fcntl.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_core.hpp"

namespace po = boost::program_options;

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_marker(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
  }
  std::filesystem::rename(tmp, path);
}

bool read_exact(int fd, char* buf, std::int64_t len, std::int64_t off) {
  std::int64_t got = 0;
  while (got < len) {
    const ssize_t r = pread(fd, buf + got, static_cast<size_t>(len - got), off + got);
    if (r <= 0) return false;
    got += r;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string trace_file, file, reference, done_file, after;
  double timeout_s = 600;
  po::options_description desc("swarmboot-bench-replay options");
  desc.add_options()("help,h", "this help")("trace", po::value(&trace_file)->required(), "trace file")(
      "file", po::value(&file)->required(), "image file to read (a FUSE mount or a local copy)")(
      "reference", po::value(&reference)->required(), "the original image, to check the bytes read")(
      "done-file", po::value(&done_file)->required(), "where to write the finish time and verdict")(
      "after", po::value(&after), "wait for this file to exist before reading")(
      "timeout", po::value(&timeout_s), "give up after this many seconds (default 600)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);

  std::ifstream in(trace_file);
  std::stringstream text;
  text << in.rdbuf();
  std::error_code size_ec;
  const auto image_size = std::filesystem::file_size(reference, size_ec);
  if (size_ec) {
    std::cerr << "swarmboot-bench-replay: could not read the size of " << reference << ": " << size_ec.message() << "\n";
    return 2;
  }
  auto trace = swarmboot::parse_boot_profile(text.str(), static_cast<std::int64_t>(image_size));
  if (!trace) {
    std::cerr << "swarmboot-bench-replay: " << trace.error().message << "\n";
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  // Both the file (a mount may not exist yet) and --after are polled until the deadline.
  // A FUSE daemon that died leaves "Transport endpoint is not connected": that is an answer, not a wait.
  auto wait_for = [&](const std::string& path) {
    for (;;) {
      std::error_code ec;
      if (std::filesystem::exists(path, ec)) return true;
      if (ec && ec != std::errc::no_such_file_or_directory) return false;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  if ((!after.empty() && !wait_for(after)) || !wait_for(file)) {
    write_marker(done_file, std::to_string(unix_now()) + " error");
    std::cerr << "swarmboot-bench-replay: " << (after.empty() ? file : after) << " did not appear\n";
    return 1;
  }
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  const int ref = open(reference.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ref < 0) {
    write_marker(done_file, std::to_string(unix_now()) + " error");
    std::cerr << "swarmboot-bench-replay: could not open " << (fd < 0 ? file : reference) << "\n";
    return 1;
  }
  std::vector<char> a, b;
  bool ok = true;
  for (const auto& r : *trace) {
    a.resize(static_cast<size_t>(r.length));
    b.resize(static_cast<size_t>(r.length));
    if (!read_exact(fd, a.data(), r.length, r.offset) || !read_exact(ref, b.data(), r.length, r.offset) || a != b) {
      ok = false;
      std::cerr << "swarmboot-bench-replay: read at " << r.offset << " (+" << r.length << ") failed or differs\n";
      break;
    }
  }
  write_marker(done_file, std::to_string(unix_now()) + (ok ? " ok" : " mismatch"));
  close(fd);
  close(ref);
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "swarmboot-bench-replay: " << e.what() << "\n";
  return 1;
}
