// Validation of everything an operator or a booting machine can send us: MAC addresses, hostnames, labels,
// boot modes, tokens. Every value that later lands in an iPXE script, a kernel command line, a URL or a
// database row passes through here first, so the renderers can rely on a small, safe character set.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "swarmcore/result.hpp"

namespace swarmboot::server {

// Labels such as rack=r1, role=web. Keys and values use a restricted character set (see validate_label).
using Labels = std::map<std::string, std::string>;

// Accepts aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff and aabbccddeeff (any case) and returns the
// canonical lower-case colon form that every table, URL and script uses.
Result<std::string> canonical_mac(std::string_view text);

// RFC 1123 host names: dot-separated labels of 1–63 [A-Za-z0-9-], not starting or ending with '-', 253 max.
// Where install mode writes the image: "auto" (the first non-removable disk at least the image's size, chosen
// by the agent) or a device path under /dev such as /dev/vda or /dev/disk/by-id/ata-…; the empty string means
// "auto". Only [A-Za-z0-9/._:+-], no "..", at most 128 characters: it goes onto the kernel command line.
Status validate_install_disk(std::string_view disk);

// The empty string means "no hostname" and is accepted.
Status validate_hostname(std::string_view name);

// Label keys: 1–63 of [a-z0-9._-] starting with a letter or digit; values: 0–63 of [A-Za-z0-9._-].
Status validate_label(std::string_view key, std::string_view value);

// Parses "key=value" (as given on the CLI, e.g. rack=r1).
Result<std::pair<std::string, std::string>> parse_label(std::string_view text);

// Per-host and admin bearer tokens: 16–128 characters of [A-Za-z0-9._~+/=-] (no spaces or quotes), so that
// they can sit on a kernel command line.
Status validate_token(std::string_view token);

// iPXE's ${buildarch} / ${platform}: 1–16 of [a-z0-9_].
Status validate_arch_word(std::string_view word);

}  // namespace swarmboot::server
