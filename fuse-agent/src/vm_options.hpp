// `swarmboot-agent vm`: boot mode hypervisor at the agent level. The image (a bootable raw disk) is mounted
// from the swarm exactly as `mount --foreground` does, and QEMU boots a guest on it at once through a qcow2
// overlay on local storage whose backing file is the FUSE file: the guest's writes stay local, its reads of
// blocks that have not arrived become urgent pieces. This file is the pure part: the command line, and the
// argv of qemu-img and QEMU, and the report bodies (tested with tables); vm_command.cpp does the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent_options.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

struct VmOptions {
  MountOptions mount;               // the image's mount, as `mount --foreground` (always in the foreground)
  std::string overlay;              // the qcow2 to create on local storage
  bool reuse_overlay = false;       // keep the guest's earlier writes: use an existing overlay as it is
  std::string qemu = "qemu-system-x86_64";
  std::string qemu_img = "qemu-img";
  int memory_mib = 512;
  int cpus = 1;
  std::vector<std::string> qemu_args;  // appended last, e.g. "-accel", "tcg"
  std::string serial;                  // the guest's serial console log; empty: stdio
};

using VmCommand = std::variant<VmOptions, HelpRequest>;

// args start after "vm". Errors read "could not parse the command line: …" and name the flag.
Result<VmCommand> parse_vm_command_line(const std::vector<std::string>& args);

// A path as a QEMU option value: commas doubled (QEMU's option syntax splits on single commas).
std::string qemu_option_path(const std::string& path);

// qemu-img create: a qcow2 over the raw FUSE file. -u: do not open the backing file (qemu-img would read its
// first blocks to check it); the size is given, so nothing needs the backing file until the guest reads.
std::vector<std::string> qemu_img_create_argv(const std::string& qemu_img, const std::string& backing,
                                              const std::string& overlay, std::int64_t size);

// The guest: memory, CPUs, the overlay as a virtio disk, the serial console, then --qemu-arg in order.
// Without --serial the console is stdio (added only when -nographic, which puts it there itself, is absent);
// without -nographic or -display, no window (-display none): the agent is a daemon.
std::vector<std::string> qemu_argv(const VmOptions& options);

// The events body for swarmbootd: {"state":STATE,"stage":"vm","message":…[,"progress":P]}.
std::string vm_report_json(const std::string& state, const std::string& message, std::optional<double> progress);

// The "progress" of the agent's status file text; nullopt when there is none (no file yet, or not JSON).
std::optional<double> progress_from_status_json(const std::string& text);

}  // namespace swarmboot::agent
