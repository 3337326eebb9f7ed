// Rendering of iPXE scripts; see boot_script.hpp. Text is built with fmt into one string per script.
#include "core/boot_script.hpp"

#include <fmt/format.h>

#include <cctype>

#include "core/validation.hpp"
#include "swarmcore/image_torrent.hpp"

namespace swarmboot::server {
namespace {

// Free text that reaches a script (messages, extra kernel arguments) may only use these characters: no '$'
// (iPXE expands ${…}), no quotes, '#', ';', '|', '&' or line breaks.
Status validate_script_text(std::string_view what, std::string_view text, std::string_view extra_allowed) {
  if (text.size() > 512) return Error{"invalid " + std::string(what) + ": longer than 512 characters"};
  for (char c : text) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ' ' || c == '.' || c == ',' ||
                    c == '-' || c == '_' || c == ':' || c == '(' || c == ')' ||
                    extra_allowed.find(c) != std::string_view::npos;
    if (!ok)
      return Error{"invalid " + std::string(what) + ": character '" + std::string(1, c) + "' is not allowed"};
  }
  return {};
}

Status validate_settings(const BootScriptSettings& s) {
  if (auto st = validate_server_url(s.server_url); !st) return st;
  if (s.fetch_attempts < 1 || s.fetch_attempts > 100) return Error{"invalid fetch attempts: 1 to 100"};
  for (int d : {s.retry_delay_s, s.give_up_delay_s, s.retry_later_delay_s}) {
    if (d < 0 || d > 3600) return Error{"invalid delay: 0 to 3600 seconds"};
  }
  if (s.install_seed_seconds < 0 || s.install_seed_seconds > 86400)
    return Error{"invalid install seed time: 0 to 86400 seconds"};
  return validate_script_text("extra kernel arguments", s.kernel_extra_args, "=/+");
}

Status validate_target(const BootTarget& t) {
  if (auto mac = canonical_mac(t.mac); !mac || *mac != t.mac) {
    return Error{"invalid MAC address '" + t.mac.substr(0, 40) + "': not canonical"};
  }
  if (auto s = validate_hostname(t.hostname); !s) return s;
  if (auto s = validate_image_name(t.image); !s) return s;
  if (!is_info_hash_hex(t.info_hash)) return Error{"invalid info-hash: expected 40 hex digits"};
  if (auto s = validate_install_disk(t.disk); !s) return s;
  return validate_token(t.token);
}

std::string describe_host(const BootTarget& t) {
  return t.hostname.empty() ? t.mac : fmt::format("{} ({})", t.mac, t.hostname);
}

}  // namespace

bool arch_supported(std::string_view arch) {
  return arch == "x86_64" || arch == "i386";
}

Status validate_server_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return Error{"invalid server URL: must start with http://"};
  const std::string_view rest = url.substr(scheme.size());
  if (rest.empty() || rest.size() > 255) return Error{"invalid server URL: no host"};
  for (char c : rest) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':' ||
                    c == '[' || c == ']';
    if (!ok) return Error{"invalid server URL: only a host and port are allowed, no path"};
  }
  return {};
}

Result<std::string> kernel_command_line(const BootTarget& t, const BootScriptSettings& s) {
  if (auto st = validate_target(t); !st) return st.error();
  if (auto st = validate_settings(s); !st) return st.error();
  std::string line = fmt::format(
      "initrd=initramfs.img swarmboot.server={} swarmboot.image={} swarmboot.infohash={} swarmboot.mode={} "
      "swarmboot.token={} swarmboot.mac={}",
      s.server_url, t.image, t.info_hash, to_string(t.mode), t.token, t.mac);
  if (t.mode == BootMode::install) {
    line += fmt::format(" swarmboot.disk={} swarmboot.seed={}", t.disk.empty() ? "auto" : t.disk,
                        s.install_seed_seconds);
  }
  if (!s.kernel_extra_args.empty()) line += " " + s.kernel_extra_args;
  return line;
}

Result<std::string> render_chain_script(const BootScriptSettings& s) {
  if (auto st = validate_settings(s); !st) return st.error();
  return fmt::format(
      "#!ipxe\n"
      "# swarmboot: this machine asked without saying who it is. Ask again with its MAC address and\n"
      "# architecture so the server can choose its image and boot mode.\n"
      "chain {}/boot.ipxe?mac=${{net0/mac}}&arch=${{buildarch}}&platform=${{platform}} ||\n"
      "echo swarmboot: could not reach {}, rebooting in {} s\n"
      "sleep {}\n"
      "reboot\n",
      s.server_url, s.server_url, s.give_up_delay_s, s.give_up_delay_s);
}

Result<std::string> render_retry_later_script(std::string_view mac, std::string_view reason,
                                              const BootScriptSettings& s) {
  if (auto st = validate_settings(s); !st) return st.error();
  auto canonical = canonical_mac(mac);
  if (!canonical) return canonical.error();
  if (auto st = validate_script_text("message", reason, ""); !st) return st.error();
  return fmt::format(
      "#!ipxe\n"
      "# swarmboot: the server will not boot {} yet ({}).\n"
      "# Wait and ask again, so the machine boots by itself once an administrator has assigned it an image.\n"
      "echo swarmboot: {}: {}\n"
      "echo swarmboot: asking again in {} s\n"
      "sleep {}\n"
      "chain {}/boot.ipxe?mac=${{net0/mac}}&arch=${{buildarch}}&platform=${{platform}} ||\n"
      "reboot\n",
      *canonical, reason, *canonical, reason, s.retry_later_delay_s, s.retry_later_delay_s, s.server_url);
}

Result<std::string> render_host_script(const BootTarget& t, std::string_view arch,
                                       const BootScriptSettings& s) {
  if (auto st = validate_target(t); !st) return st.error();
  if (auto st = validate_settings(s); !st) return st.error();
  if (auto st = validate_arch_word(arch); !st) return st.error();

  if (t.state == HostState::installed) {
    return fmt::format(
        "#!ipxe\n"
        "# swarmboot: {} has image {} installed on its disk and boots it until it is reimaged.\n"
        "# BIOS: boot the first hard disk directly. `exit` is not enough there: an iPXE option ROM that exits\n"
        "# through INT 19h restarts the BIOS boot order from the network, a PXE loop (seen with SeaBIOS).\n"
        "# UEFI, or if sanboot fails: `exit` hands control back to the firmware's next boot option.\n"
        "echo swarmboot: {} is installed, booting from local disk\n"
        "iseq ${{platform}} pcbios && sanboot --no-describe --drive 0x80 ||\n"
        "exit\n",
        describe_host(t), t.image, t.mac);
  }
  if (!arch_supported(arch)) {
    return fmt::format(
        "#!ipxe\n"
        "# swarmboot: the server has boot files for x86_64 only; this machine runs {} iPXE.\n"
        "# Fall back to the next boot device rather than loop.\n"
        "echo swarmboot: no boot files for architecture {} ({}), trying the next boot device\n"
        "sleep {}\n"
        "exit\n",
        arch, arch, t.mac, s.retry_delay_s);
  }
  auto cmdline = kernel_command_line(t, s);
  if (!cmdline) return cmdline.error();
  return fmt::format(
      "#!ipxe\n"
      "# swarmboot: {} boots image {} ({} mode).\n"
      "# The kernel and initramfs come from the server over HTTP; the initramfs agent then fetches the "
      "image\n"
      "# from the BitTorrent swarm, verified against the info-hash on the command line. Fetches are retried "
      "a\n"
      "# bounded number of times so that a busy server or a lost packet does not strand the machine.\n"
      "set attempt:int32 0\n"
      ":fetch\n"
      "inc attempt\n"
      "echo swarmboot: {} fetching boot files for {} (attempt ${{attempt}} of {})\n"
      "kernel {}/boot/vmlinuz {} || goto retry\n"
      "initrd --name initramfs.img {}/boot/initramfs.img || goto retry\n"
      "boot || goto retry\n"
      ":retry\n"
      "iseq ${{attempt}} {} && goto give_up ||\n"
      "echo swarmboot: could not fetch or start the boot files, retrying in {} s\n"
      "sleep {}\n"
      "goto fetch\n"
      ":give_up\n"
      "echo swarmboot: giving up after {} attempts, rebooting in {} s\n"
      "sleep {}\n"
      "reboot\n",
      describe_host(t), t.image, to_string(t.mode), t.mac, t.image, s.fetch_attempts, s.server_url, *cmdline,
      s.server_url, s.fetch_attempts, s.retry_delay_s, s.retry_delay_s, s.fetch_attempts, s.give_up_delay_s,
      s.give_up_delay_s);
}

}  // namespace swarmboot::server
