// iPXE scripts as pure functions: what a machine boots is decided here, from values only, and rendered fully
// into a string (the HTTP handler sends it only when rendering succeeded). Every interpolated value is
// validated first, so a hostname, label or image name can never inject iPXE commands or kernel arguments.
//
// Scripts start with `#!ipxe` and a comment saying why they exist; fetches run in a bounded retry loop and
// print what failed before giving up (then the machine reboots and PXE starts over).
#pragma once

#include <string>
#include <string_view>

#include "core/host_state.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

struct BootScriptSettings {
  std::string server_url;        // "http://10.99.0.1:8080": where the host reaches us (no path)
  int fetch_attempts = 5;        // kernel/initramfs fetch attempts before giving up
  int retry_delay_s = 5;         // pause between attempts
  int give_up_delay_s = 60;      // pause before rebooting after the last failed attempt
  int retry_later_delay_s = 30;  // for "not ready" scripts: pause before asking the server again
  std::string kernel_extra_args = "console=ttyS0,115200 console=tty0 quiet";
  int install_seed_seconds = 120;  // install mode: seeding time after the image is on disk
};

// What the server knows about the host that asked.
struct BootTarget {
  std::string mac;        // canonical aa:bb:cc:dd:ee:ff
  std::string hostname;   // may be empty
  std::string image;      // image name
  std::string info_hash;  // 40 hex digits
  BootMode mode = BootMode::diskless;
  HostState state = HostState::fresh;
  std::string token;  // per-host secret for its reports
  std::string disk;   // install target: "" = auto, else a /dev path (validate_install_disk)
};

// Architectures whose iPXE can start our x86-64 kernel. undionly.kpxe is a 32-bit build, so BIOS machines
// report "i386" even on 64-bit CPUs.
bool arch_supported(std::string_view arch);

// The script for requests without a MAC: chain to ourselves with the MAC and architecture filled in by iPXE.
Result<std::string> render_chain_script(const BootScriptSettings& settings);

// The host's script: kernel + initramfs with the swarmboot command line, or a local-disk boot for installed
// hosts, or a message for architectures we have no kernel for.
Result<std::string> render_host_script(const BootTarget& target, std::string_view arch,
                                       const BootScriptSettings& settings);

// For a machine we will not boot yet (unknown MAC under the "retry" policy, image missing): print `reason`
// (one of a few fixed sentences the caller chooses, validated anyway), wait, then ask the server again.
Result<std::string> render_retry_later_script(std::string_view mac, std::string_view reason,
                                              const BootScriptSettings& settings);

// The kernel command line for a host (without the kernel path), exactly as in the contract.
Result<std::string> kernel_command_line(const BootTarget& target, const BootScriptSettings& settings);

// Checks a server URL is http://HOST[:PORT] with a safe host (IPv4, bracketed IPv6 or DNS name).
Status validate_server_url(std::string_view url);

}  // namespace swarmboot::server
