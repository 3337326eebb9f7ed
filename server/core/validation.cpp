// Character-level validation; see validation.hpp for the accepted forms.
#include "core/validation.hpp"

#include <algorithm>
#include <cctype>

namespace swarmboot::server {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
std::string quoted(std::string_view s) {
  // Messages echo user input; keep them to one printable line.
  std::string out;
  for (char c : s.substr(0, 80)) out += (std::isprint(static_cast<unsigned char>(c)) != 0) ? c : '?';
  return "'" + out + (s.size() > 80 ? "…'" : "'");
}

}  // namespace

Result<std::string> canonical_mac(std::string_view text) {
  std::string digits;
  const auto bad = [&] {
    return Error{"invalid MAC address " + quoted(text) +
                 ": expected six hex bytes like aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff"};
  };
  if (text.size() == 17) {
    const char sep = text[2];
    if (sep != ':' && sep != '-') return bad();
    for (size_t i = 0; i < 17; ++i) {
      if (i % 3 == 2) {
        if (text[i] != sep) return bad();
      } else if (!is_hex(text[i])) {
        return bad();
      } else {
        digits += text[i];
      }
    }
  } else if (text.size() == 14) {
    for (size_t i = 0; i < 14; ++i) {
      if (i == 4 || i == 9) {
        if (text[i] != '.') return bad();
      } else if (!is_hex(text[i])) {
        return bad();
      } else {
        digits += text[i];
      }
    }
  } else if (text.size() == 12) {
    if (!std::all_of(text.begin(), text.end(), is_hex)) return bad();
    digits = std::string(text);
  } else {
    return bad();
  }
  std::string out;
  for (size_t i = 0; i < 12; ++i) {
    if (i > 0 && i % 2 == 0) out += ':';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(digits[i])));
  }
  return out;
}

Status validate_install_disk(std::string_view disk) {
  if (disk.empty() || disk == "auto") return {};
  const auto bad = [&](const std::string& why) {
    return Error{"invalid install disk " + quoted(disk) + ": " + why};
  };
  if (disk.size() > 128) return bad("longer than 128 characters");
  if (disk.substr(0, 5) != "/dev/" || disk.size() == 5) return bad("expected auto or a device path under /dev/");
  if (disk.find("..") != std::string_view::npos) return bad("'..' is not allowed");
  for (char c : disk) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '.' || c == '_' ||
                    c == ':' || c == '+' || c == '-';
    if (!ok) return bad("character '" + std::string(1, c) + "' is not allowed");
  }
  return {};
}

Status validate_hostname(std::string_view name) {
  if (name.empty()) return {};
  const auto bad = [&](const std::string& why) {
    return Error{"invalid hostname " + quoted(name) + ": " + why};
  };
  if (name.size() > 253) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return bad("each dot-separated part must be 1 to 63 characters");
    for (char c : label) {
      if (!is_alnum(c) && c != '-') return bad("only letters, digits, '-' and '.' are allowed");
    }
    if (label.front() == '-' || label.back() == '-') return bad("a part may not start or end with '-'");
    start = dot + 1;
  }
  return {};
}

Status validate_label(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > 63 || !is_lower_alnum(key[0])) {
    return Error{"invalid label key " + quoted(key) + ": 1 to 63 characters starting with a-z or 0-9"};
  }
  for (char c : key) {
    if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-') {
      return Error{"invalid label key " + quoted(key) + ": only a-z, 0-9, '.', '_' and '-' are allowed"};
    }
  }
  if (value.size() > 63)
    return Error{"invalid value for label '" + std::string(key) + "': longer than 63 characters"};
  for (char c : value) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
      return Error{"invalid value " + quoted(value) + " for label '" + std::string(key) +
                   "': only letters, digits, '.', '_' and '-' are allowed"};
    }
  }
  return {};
}

Result<std::pair<std::string, std::string>> parse_label(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return Error{"invalid label " + quoted(text) + ": expected key=value, e.g. rack=r1"};
  std::string key(text.substr(0, eq));
  std::string value(text.substr(eq + 1));
  if (auto s = validate_label(key, value); !s) return s.error();
  return std::make_pair(std::move(key), std::move(value));
}

Status validate_token(std::string_view token) {
  if (token.size() < 16 || token.size() > 128) return Error{"invalid token: 16 to 128 characters"};
  for (char c : token) {
    if (!is_alnum(c) && std::string_view("._~+/=-").find(c) == std::string_view::npos) {
      return Error{"invalid token: only letters, digits and ._~+/=- are allowed"};
    }
  }
  return {};
}

Status validate_arch_word(std::string_view word) {
  if (word.empty() || word.size() > 16)
    return Error{"invalid architecture " + quoted(word) + ": 1 to 16 characters"};
  for (char c : word) {
    if (!is_lower_alnum(c) && c != '_')
      return Error{"invalid architecture " + quoted(word) + ": only a-z, 0-9 and '_'"};
  }
  return {};
}

}  // namespace swarmboot::server
