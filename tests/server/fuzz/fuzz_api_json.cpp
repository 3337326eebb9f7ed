// Fuzzes the REST API's request bodies: host assignments, agent reports, image additions. The first byte
// chooses the parser; whatever parses must hold only validated values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/api_json.hpp"
#include "core/host_report.hpp"
#include "swarmcore/image_torrent.hpp"

using namespace swarmboot;
using namespace swarmboot::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto a = parse_host_assignment(body);
      if (a && a->hostname && !validate_hostname(*a->hostname)) std::abort();
      if (a && a->image && !validate_image_name(*a->image)) std::abort();
      if (a && a->labels) {
        for (const auto& [k, v] : *a->labels) {
          if (!validate_label(k, v)) std::abort();
        }
      }
      break;
    }
    case 1: {
      auto e = parse_host_event(body);
      if (!e) break;
      if (e->progress && (*e->progress < 0 || *e->progress > 1)) std::abort();
      // Apply it to every state; a refused report must leave the host untouched.
      for (auto mode : {BootMode::diskless, BootMode::install}) {
        HostRecord h;
        h.mode = mode;
        h.state = HostState::running;
        const HostRecord before = h;
        if (!apply_host_report(h, *e) && (h.state != before.state || h.progress != before.progress))
          std::abort();
      }
      break;
    }
    default: {
      auto r = parse_image_add(body);
      if (r && (r->path.empty() || r->path.front() != '/' || !validate_image_name(r->name))) std::abort();
      break;
    }
  }
  (void)json_error(body);
  return 0;
}
