// Running child programs (mksquashfs, debootstrap, dnsmasq --test, ip, tc) and capturing what they print.
// The seam every caller goes through, so that tests can see exactly which argv was run.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "swarmcore/result.hpp"

namespace swarmboot {

struct ProcessResult {
  int exit_code = -1;    // exit status, or 128+signal if killed by a signal
  std::string output;    // stdout and stderr interleaved
};

struct ProcessOptions {
  std::optional<std::string> working_dir;
  std::map<std::string, std::string> extra_env;  // added to the inherited environment
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};  // then SIGKILL and an error
  std::optional<std::string> stdin_data;         // written to the child's stdin, then closed
};

// Runs argv[0] (searched in PATH) and waits for it. An Error only when it could not be started or timed out;
// a non-zero exit is reported in ProcessResult so that callers can say what failed.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Runs and requires exit code 0; the error carries the command and the last lines it printed.
Result<std::string> run_checked(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// "mksquashfs a b" for messages, quoting arguments with spaces.
std::string describe_command(const std::vector<std::string>& argv);

}  // namespace swarmboot
