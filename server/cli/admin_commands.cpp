// Admin commands: parse options, call the API with swarmcore's HTTP client, print with admin_view.
#include "cli/admin_commands.hpp"

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/admin_view.hpp"
#include "core/validation.hpp"
#include "swarmcore/http_client.hpp"

namespace swarmboot::cli {
namespace po = boost::program_options;
using nlohmann::json;

namespace {

struct Connection {
  std::string server = "http://127.0.0.1:8080";
  std::string token;
};

struct Failure {
  std::string message;
  int code = 1;
};

void add_connection_options(po::options_description& d, std::string& server, std::string& token_file) {
  d.add_options()("server", po::value(&server),
                  "swarmbootd URL (default $SWARMBOOT_SERVER or http://127.0.0.1:8080)")(
      "api-token-file", po::value(&token_file),
      "file holding the admin token (default $SWARMBOOT_API_TOKEN)")("help,h", "show this help");
}

Connection connection(const std::string& server, const std::string& token_file) {
  Connection c;
  if (const char* env = std::getenv("SWARMBOOT_SERVER"); env != nullptr && *env != 0) c.server = env;
  if (!server.empty()) c.server = server;
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (const char* env = std::getenv("SWARMBOOT_API_TOKEN"); env != nullptr) c.token = env;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) throw Failure{"could not read --api-token-file " + token_file};
    std::getline(in, c.token);
    while (!c.token.empty() && (c.token.back() == '\r' || c.token.back() == ' ')) c.token.pop_back();
  }
  return c;
}

json call(const Connection& c, const std::string& method, const std::string& path,
          const std::string& body = "") {
  HttpRequest req;
  req.method = method;
  req.url = c.server + path;
  req.body = body;
  if (!body.empty()) req.headers["Content-Type"] = "application/json";
  if (!c.token.empty()) req.headers["Authorization"] = "Bearer " + c.token;
  auto res = http_request(req);
  if (!res) throw Failure{res.error().message};
  json j = json::parse(res->body, nullptr, false);
  if (res->status >= 400) {
    std::string why =
        j.is_object() && j.contains("error") ? j["error"].get<std::string>() : res->body.substr(0, 200);
    if (res->status == 401 && c.token.empty()) why += " (set SWARMBOOT_API_TOKEN or --api-token-file)";
    throw Failure{"could not " + method + " " + path + ": " + why};
  }
  if (j.is_discarded())
    throw Failure{"could not " + method + " " + path + ": the server's answer is not JSON"};
  return j;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string canonical(const std::string& mac) {
  auto m = server::canonical_mac(mac);
  if (!m) throw Failure{m.error().message, 2};
  return *m;
}

// Parses args with `d` (plus positional names); prints help and returns false on --help.
bool parse(const std::vector<std::string>& args, po::options_description& d, po::variables_map& vm,
           const std::string& usage, const po::positional_options_description* positional = nullptr) {
  try {
    auto parser = po::command_line_parser(args).options(d);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Failure{std::string(e.what()) + "\nusage: " + usage, 2};
  }
  if (vm.count("help") != 0) {
    std::cout << "usage: " << usage << "\n" << d;
    return false;
  }
  return true;
}

int cmd_list(const std::string& what, const std::vector<std::string>& args) {
  std::string server, token_file;
  po::options_description d("options");
  add_connection_options(d, server, token_file);
  d.add_options()("json", "print the API's JSON");
  po::variables_map vm;
  if (!parse(args, d, vm, "swarmboot " + what + " [--json] [--server URL]")) return 0;
  const json j = call(connection(server, token_file), "GET", "/api/v1/" + what);
  if (vm.count("json") != 0)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << (what == "hosts" ? hosts_table(j) : images_table(j));
  return 0;
}

int cmd_host(const std::vector<std::string>& args) {
  const std::string usage =
      "swarmboot host set MAC [--image NAME] [--mode diskless|install|hypervisor] [--hostname NAME] "
      "[--label k=v]... [--disk auto|/dev/…] | host show MAC | host rm MAC";
  if (args.size() < 2) throw Failure{"usage: " + usage, 2};
  const std::string sub = args[0];
  const std::string mac = canonical(args[1]);
  std::string server, token_file, image, mode, hostname, disk;
  std::vector<std::string> labels;
  po::options_description d("options");
  add_connection_options(d, server, token_file);
  d.add_options()("image", po::value(&image), "image name")("mode", po::value(&mode),
                                                            "diskless | install | hypervisor")(
      "hostname", po::value(&hostname), "host name")("label", po::value(&labels)->composing(),
                                                     "label key=value (repeatable; replaces all labels)");
  d.add_options()("disk", po::value(&disk), "install mode's target: auto (first fitting disk) or a /dev path");
  po::variables_map vm;
  if (!parse({args.begin() + 2, args.end()}, d, vm, usage)) return 0;
  const Connection c = connection(server, token_file);
  if (sub == "show") {
    std::cout << call(c, "GET", "/api/v1/hosts/" + mac).dump(2) << "\n";
    return 0;
  }
  if (sub == "rm") {
    call(c, "DELETE", "/api/v1/hosts/" + mac);
    std::cout << "deleted " << mac << "\n";
    return 0;
  }
  if (sub != "set") throw Failure{"usage: " + usage, 2};
  json body = json::object();
  if (vm.count("image") != 0) body["image"] = image;
  if (vm.count("mode") != 0) body["mode"] = mode;
  if (vm.count("hostname") != 0) body["hostname"] = hostname;
  if (vm.count("disk") != 0) body["disk"] = disk;
  if (!labels.empty()) {
    json l = json::object();
    for (const auto& text : labels) {
      auto kv = server::parse_label(text);
      if (!kv) throw Failure{kv.error().message, 2};
      l[kv->first] = kv->second;
    }
    body["labels"] = l;
  }
  const json h = call(c, "PUT", "/api/v1/hosts/" + mac, body.dump());
  std::cout << hosts_table(json::array({h}));
  return 0;
}

int cmd_reimage(const std::vector<std::string>& args) {
  const std::string usage = "swarmboot reimage MAC... | swarmboot reimage --label k=v";
  std::string server, token_file, label;
  std::vector<std::string> macs;
  po::options_description d("options");
  add_connection_options(d, server, token_file);
  d.add_options()("label", po::value(&label), "reimage every host with this label, e.g. rack=r1")(
      "mac", po::value(&macs)->composing(), "MAC address");
  po::positional_options_description pos;
  pos.add("mac", -1);
  po::variables_map vm;
  if (!parse(args, d, vm, usage, &pos)) return 0;
  const Connection c = connection(server, token_file);
  std::vector<std::string> targets;
  for (const auto& m : macs) targets.push_back(canonical(m));
  if (!label.empty()) {
    auto kv = server::parse_label(label);
    if (!kv) throw Failure{kv.error().message, 2};
    for (const auto& h : call(c, "GET", "/api/v1/hosts")) {
      if (h.contains("labels") && h["labels"].value(kv->first, std::string("\x01")) == kv->second) {
        targets.push_back(h["mac"].get<std::string>());
      }
    }
    if (targets.empty()) throw Failure{"no host has label " + label};
  }
  if (targets.empty()) throw Failure{"usage: " + usage, 2};
  for (const auto& mac : targets) {
    call(c, "POST", "/api/v1/hosts/" + mac + "/reimage");
    std::cout << "reimage " << mac << "\n";
  }
  return 0;
}

int cmd_status(const std::vector<std::string>& args) {
  std::string server, token_file;
  double interval = 1.0;
  int count = 0;
  po::options_description d("options");
  add_connection_options(d, server, token_file);
  d.add_options()("watch,w", "redraw until interrupted")("interval", po::value(&interval),
                                                         "seconds between redraws")(
      "count", po::value(&count), "with --watch: stop after this many redraws (0 = never)");
  po::variables_map vm;
  if (!parse(args, d, vm, "swarmboot status [--watch [--interval S] [--count N]]")) return 0;
  const Connection c = connection(server, token_file);
  const bool watch = vm.count("watch") != 0;
  for (int i = 0;; ++i) {
    const std::string table = status_table(call(c, "GET", "/api/v1/hosts"), now_ms());
    // Clear screen and home the cursor so the table redraws in place.
    if (watch) std::cout << "\x1b[H\x1b[2J" << c.server << "  (every " << interval << " s, Ctrl-C to stop)\n";
    std::cout << table << std::flush;
    if (!watch || (count > 0 && i + 1 >= count)) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(interval * 1000)));
  }
}

int cmd_events(const std::vector<std::string>& args) {
  std::string server, token_file, mac;
  int limit = 100;
  po::options_description d("options");
  add_connection_options(d, server, token_file);
  d.add_options()("mac", po::value(&mac), "only this host")("limit", po::value(&limit), "most events shown")(
      "json", "print the API's JSON");
  po::variables_map vm;
  if (!parse(args, d, vm, "swarmboot events [--mac MAC] [--limit N] [--json]")) return 0;
  const Connection c = connection(server, token_file);
  std::string path = "/api/v1/events?limit=10000";
  if (!mac.empty()) path += "&mac=" + canonical(mac);
  json events = call(c, "GET", path);
  // Show the newest `limit` events, oldest first.
  json shown = json::array();
  const size_t skip = events.size() > static_cast<size_t>(std::max(limit, 0))
                          ? events.size() - static_cast<size_t>(limit)
                          : 0;
  for (size_t i = skip; i < events.size(); ++i) shown.push_back(events[i]);
  if (vm.count("json") != 0) {
    std::cout << shown.dump(2) << "\n";
  } else {
    for (const auto& e : shown) std::cout << event_line(e) << "\n";
  }
  return 0;
}

}  // namespace

bool is_admin_command(const std::string& command) {
  return command == "hosts" || command == "images" || command == "host" || command == "reimage" ||
         command == "status" || command == "events";
}

std::string admin_usage() {
  return "  hosts [--json]                       list hosts\n"
         "  images [--json]                      list registered images on the server\n"
         "  host set MAC [--image N] [--mode M] [--hostname H] [--label k=v]... [--disk D]\n"
         "  host show MAC | host rm MAC\n"
         "  reimage MAC... | reimage --label rack=r1\n"
         "  status [--watch] [--interval S]      hosts with a progress bar each\n"
         "  events [--mac MAC] [--limit N]       the event log\n"
         "  (server: --server URL or SWARMBOOT_SERVER; token: SWARMBOOT_API_TOKEN or --api-token-file)\n";
}

int run_admin_command(const std::string& command, const std::vector<std::string>& args) {
  try {
    if (command == "hosts" || command == "images") return cmd_list(command, args);
    if (command == "host") return cmd_host(args);
    if (command == "reimage") return cmd_reimage(args);
    if (command == "status") return cmd_status(args);
    if (command == "events") return cmd_events(args);
  } catch (const Failure& f) {
    std::cerr << "swarmboot " << command << ": " << f.message << "\n";
    return f.code;
  }
  return 2;
}

}  // namespace swarmboot::cli
