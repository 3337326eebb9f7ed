// API body parsing with nlohmann_json (exceptions are caught here and turned into Errors).
#include "core/api_json.hpp"

#include <nlohmann/json.hpp>

#include "swarmcore/image_torrent.hpp"

namespace swarmboot::server {
using nlohmann::json;

namespace {

Result<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{"malformed JSON body"};
  if (!j.is_object()) return Error{"the body must be a JSON object"};
  return j;
}

Status only_fields(const json& j, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) return Error{"unknown field '" + key.substr(0, 40) + "'"};
  }
  return {};
}

Result<std::string> string_field(const json& j, const char* name) {
  const auto& v = j.at(name);
  if (!v.is_string()) return Error{std::string("field '") + name + "' must be a string"};
  return v.get<std::string>();
}

}  // namespace

Result<HostAssignment> parse_host_assignment(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  if (auto s = only_fields(*j, {"hostname", "image", "mode", "labels", "disk"}); !s) return s.error();
  HostAssignment a;
  if (j->contains("hostname")) {
    auto v = string_field(*j, "hostname");
    if (!v) return v.error();
    if (auto s = validate_hostname(*v); !s) return s.error();
    a.hostname = *v;
  }
  if (j->contains("disk")) {
    auto v = string_field(*j, "disk");
    if (!v) return v.error();
    if (auto s = validate_install_disk(*v); !s) return s.error();
    a.disk = *v == "auto" ? std::string() : *v;
  }
  if (j->contains("image")) {
    auto v = string_field(*j, "image");
    if (!v) return v.error();
    if (auto s = validate_image_name(*v); !s) return s.error();
    a.image = *v;
  }
  if (j->contains("mode")) {
    auto v = string_field(*j, "mode");
    if (!v) return v.error();
    auto m = parse_boot_mode(*v);
    if (!m) return m.error();
    a.mode = *m;
  }
  if (j->contains("labels")) {
    const auto& l = j->at("labels");
    if (!l.is_object()) return Error{"field 'labels' must be an object of strings"};
    if (l.size() > 32) return Error{"field 'labels': at most 32 labels"};
    Labels labels;
    for (const auto& [k, v] : l.items()) {
      if (!v.is_string()) return Error{"field 'labels': values must be strings"};
      if (auto s = validate_label(k, v.get<std::string>()); !s) return s.error();
      labels[k] = v.get<std::string>();
    }
    a.labels = std::move(labels);
  }
  return a;
}

Result<HostEvent> parse_host_event(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  if (auto s = only_fields(*j, {"state", "stage", "progress", "message", "agent"}); !s) return s.error();
  HostEvent e;
  if (j->contains("state")) {
    auto v = string_field(*j, "state");
    if (!v) return v.error();
    auto st = parse_host_state(*v);
    if (!st) return st.error();
    e.state = *st;
  }
  if (j->contains("stage")) {
    auto v = string_field(*j, "stage");
    if (!v) return v.error();
    if (v->size() > 32) return Error{"field 'stage': at most 32 characters"};
    for (char c : *v) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        return Error{"field 'stage': only a-z, 0-9 and '_' are allowed"};
      }
    }
    e.stage = *v;
  }
  if (j->contains("progress")) {
    const auto& p = j->at("progress");
    if (!p.is_number()) return Error{"field 'progress' must be a number"};
    const double v = p.get<double>();
    if (!(v >= 0.0 && v <= 1.0)) return Error{"field 'progress' must be between 0 and 1"};
    e.progress = v;
  }
  if (j->contains("message")) {
    auto v = string_field(*j, "message");
    if (!v) return v.error();
    if (v->size() > 1024) return Error{"field 'message': at most 1024 bytes"};
    e.message = *v;
  }
  if (j->contains("agent")) {
    const auto& a = j->at("agent");
    if (!a.is_object()) return Error{"field 'agent' must be an object"};
    e.agent_json = a.dump(-1, ' ', false, json::error_handler_t::replace);
    if (e.agent_json.size() > 16384) return Error{"field 'agent': at most 16 KiB"};
  }
  return e;
}

Result<ImageAddRequest> parse_image_add(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  if (auto s = only_fields(*j, {"path", "name", "piece_size"}); !s) return s.error();
  if (!j->contains("path") || !j->contains("name")) return Error{"fields 'path' and 'name' are required"};
  ImageAddRequest r;
  auto path = string_field(*j, "path");
  if (!path) return path.error();
  if (path->empty() || path->front() != '/' || path->size() > 4096) {
    return Error{"field 'path' must be an absolute path on the server"};
  }
  if (path->find('\0') != std::string::npos) return Error{"field 'path' contains a NUL byte"};
  r.path = *path;
  auto name = string_field(*j, "name");
  if (!name) return name.error();
  if (auto s = validate_image_name(*name); !s) return s.error();
  r.name = *name;
  if (j->contains("piece_size")) {
    const auto& p = j->at("piece_size");
    if (!p.is_number_integer()) return Error{"field 'piece_size' must be an integer"};
    r.piece_size = p.get<std::int64_t>();
    if (auto s = validate_piece_size(r.piece_size); !s) return s.error();
  }
  return r;
}

std::string json_error(std::string_view message) {
  return json{{"error", std::string(message)}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace swarmboot::server
