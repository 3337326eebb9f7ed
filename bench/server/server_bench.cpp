// swarmboot-server-bench: how much swarmbootd costs. Starts the real binary on 127.0.0.1 (port 0) in a
// scratch folder, registers one small image, then measures
//   - resident memory (VmRSS) idle, after registering N hosts (default 10,000) through the API, and after
//     listing them all;
//   - tracker announces per second over keep-alive connections from C client threads, each announce from
//     one of P distinct peers (so the swarm holds P peers and every answer runs peer selection over them);
//   - boot scripts per second (one SQLite read-modify-write each).
// Prints one JSON object. Numbers depend on the machine: compare runs on the same one.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

const std::string kToken = "bench-admin-token-0123456789";

// One keep-alive HTTP connection (blocking; each bench thread owns one).
class Connection {
 public:
  explicit Connection(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  int request(http::verb method, const std::string& target, const std::string& body = "",
              std::string* out = nullptr) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + kToken);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(socket_, buffer_, parser);
    if (out != nullptr) *out = parser.get().body();
    return static_cast<int>(parser.get().result_int());
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string escape(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) out += fmt::format("%{:02X}", c);
  return out;
}

std::string mac_of(int i) {
  return fmt::format("02:00:{:02x}:{:02x}:{:02x}:{:02x}", (i >> 24) & 0xff, (i >> 16) & 0xff, (i >> 8) & 0xff,
                     i & 0xff);
}

// Runs `work(thread, connection)` on `threads` threads for `seconds`; returns requests per second.
template <class Work>
double rate(std::uint16_t port, int threads, double seconds, Work work) {
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        Connection c(port);
        for (long i = 0; Clock::now() < until; ++i) {
          if (!work(t, i, c)) failed = true;
          ++done;
        }
      } catch (const std::exception& e) {
        std::cerr << "bench thread: " << e.what() << "\n";
        failed = true;
      }
    });
  }
  for (auto& th : pool) th.join();
  if (failed) throw std::runtime_error("a request failed");
  return static_cast<double>(done.load()) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) try {
  namespace po = boost::program_options;
  std::string binary, scratch;
  int hosts = 10000, peers = 500, threads = 2;
  double seconds = 5;
  po::options_description d("swarmboot-server-bench options");
  d.add_options()("help,h", "help")("swarmbootd", po::value(&binary)->required(),
                                    "path of the swarmbootd binary")(
      "scratch", po::value(&scratch)->default_value("/tmp/swarmboot-server-bench"), "scratch folder (wiped)")(
      "hosts", po::value(&hosts)->default_value(hosts), "hosts to register")(
      "peers", po::value(&peers)->default_value(peers), "distinct peers announcing")(
      "threads", po::value(&threads)->default_value(threads), "client threads")(
      "seconds", po::value(&seconds)->default_value(seconds), "duration of each rate measurement");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, d), vm);
  if (vm.count("help") != 0) {
    std::cout << d;
    return 0;
  }
  po::notify(vm);

  fs::remove_all(scratch);
  fs::create_directories(fs::path(scratch) / "boot");
  {
    std::mt19937 rng(1);
    std::string image = "hsqs";
    while (image.size() < (1u << 20)) image += static_cast<char>(rng() & 0xff);
    std::ofstream(fs::path(scratch) / "image.squashfs", std::ios::binary) << image;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open((scratch + "/swarmbootd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("SWARMBOOT_API_TOKEN", kToken.c_str(), 1);
    execl(binary.c_str(), binary.c_str(), "--data-dir", (scratch + "/data").c_str(), "--listen",
          "127.0.0.1:0", "--bt-listen", "127.0.0.1:0", "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::uint16_t port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::ifstream in(scratch + "/data/swarmbootd.port");
    int p = 0;
    if (in >> p)
      port = static_cast<std::uint16_t>(p);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) throw std::runtime_error("swarmbootd did not start; see " + scratch + "/swarmbootd.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  nlohmann::json result;
  Connection admin(port);
  std::string body;
  if (admin.request(
          http::verb::post, "/api/v1/images",
          nlohmann::json{{"path", scratch + "/image.squashfs"}, {"name", "bench"}, {"piece_size", 65536}}
              .dump(),
          &body) != 201) {
    throw std::runtime_error("could not register the image: " + body);
  }
  const std::string info_hash_hex = nlohmann::json::parse(body)["info_hash"];
  std::string info_hash;
  for (size_t i = 0; i < 40; i += 2)
    info_hash += static_cast<char>(std::stoi(info_hash_hex.substr(i, 2), nullptr, 16));
  result["rss_kib_idle"] = rss_kib(pid);

  const auto t0 = Clock::now();
  for (int i = 0; i < hosts; ++i) {
    const std::string put = fmt::format(
        R"({{"image":"bench","mode":"diskless","hostname":"h{}","labels":{{"rack":"r{}"}}}})", i, i % 40);
    if (admin.request(http::verb::put, "/api/v1/hosts/" + mac_of(i), put) != 200)
      throw std::runtime_error("PUT failed");
  }
  result["hosts"] = hosts;
  result["host_puts_per_s"] = hosts / std::chrono::duration<double>(Clock::now() - t0).count();
  result["rss_kib_with_hosts"] = rss_kib(pid);
  const auto t1 = Clock::now();
  admin.request(http::verb::get, "/api/v1/hosts", "", &body);
  result["list_hosts_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  result["list_hosts_bytes"] = body.size();
  result["rss_kib_after_list"] = rss_kib(pid);

  const std::string ih = escape(info_hash);
  result["peers"] = peers;
  result["threads"] = threads;
  result["announces_per_s"] = rate(port, threads, seconds, [&](int t, long i, Connection& c) {
    const long peer = (i * threads + t) % peers;
    const std::string id = fmt::format("-BN0001-{:012d}", peer);
    const std::string target =
        fmt::format("/announce?info_hash={}&peer_id={}&port={}&left={}&compact=1&numwant=50", ih, escape(id),
                    10000 + peer, peer % 2 == 0 ? 0 : 1000);
    std::string answer;
    return c.request(http::verb::get, target, "", &answer) == 200 &&
           answer.find("failure") == std::string::npos;
  });
  result["boot_scripts_per_s"] = rate(port, threads, seconds, [&](int t, long i, Connection& c) {
    return c.request(http::verb::get,
                     "/boot.ipxe?mac=" + mac_of(static_cast<int>((i * threads + t) % hosts)) +
                         "&arch=x86_64") == 200;
  });
  result["rss_kib_end"] = rss_kib(pid);

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  result["clean_exit"] = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  result["cpus"] = std::thread::hardware_concurrency();
  std::cout << result.dump(2) << "\n";
  fs::remove_all(scratch);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "swarmboot-server-bench: " << e.what() << "\n";
  return 1;
}
