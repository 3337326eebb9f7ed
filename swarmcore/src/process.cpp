// fork/exec with a pipe for output and a deadline enforced with poll().
#include "swarmcore/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace swarmboot {
namespace {

std::string last_lines(const std::string& text, int count) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n')) --pos;
  size_t end = pos;
  for (int i = 0; i < count && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string out = text.substr(pos, end - pos);
  while (!out.empty() && out.front() == '\n') out.erase(out.begin());
  return out;
}

}  // namespace

std::string describe_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    if (a.find_first_of(" \t'\"") != std::string::npos) out += "'" + a + "'";
    else out += a;
  }
  return out;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) return Error{"could not run a command: empty argv"};
  int out_pipe[2];
  int in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error{std::string("could not create a pipe: ") + std::strerror(errno)};
  if (options.stdin_data && pipe2(in_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Error{std::string("could not create a pipe: ") + std::strerror(errno)};
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return Error{std::string("could not fork: ") + std::strerror(errno)};
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(out_pipe[1], STDERR_FILENO);
    if (in_pipe[0] >= 0) dup2(in_pipe[0], STDIN_FILENO);
    else {
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    }
    if (options.working_dir && chdir(options.working_dir->c_str()) != 0) _exit(126);
    for (const auto& [k, v] : options.extra_env) setenv(k.c_str(), v.c_str(), 1);
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  if (in_pipe[0] >= 0) {
    close(in_pipe[0]);
    const std::string& data = *options.stdin_data;
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(in_pipe[1], data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(in_pipe[1]);
  }

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool timed_out = false;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{out_pipe[0], POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Error{"could not run " + describe_command(argv) + ": timed out after " +
                 std::to_string(options.timeout.count()) + " ms"};
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  if (result.exit_code == 127 && result.output.empty()) {
    return Error{"could not run " + argv[0] + ": not found in PATH"};
  }
  return result;
}

Result<std::string> run_checked(const std::vector<std::string>& argv, const ProcessOptions& options) {
  auto r = run_process(argv, options);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    return Error{describe_command(argv) + " exited with " + std::to_string(r->exit_code) + ": " +
                 last_lines(r->output, 5)};
  }
  return std::move(r->output);
}

}  // namespace swarmboot
