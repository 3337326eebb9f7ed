// The FUSE side: a read-only filesystem with one directory holding one file, the image, at its full size from
// the first moment. libfuse3's low-level API, so that a read waiting for pieces holds no thread: read() hands
// the request to ImageAgent, which replies when the pieces are readable.
#pragma once

#include <memory>
#include <string>

#include "image_agent.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// A mounted (but not yet serving) FUSE session. Mounting happens before the agent's threads start, so that a
// failure leaves nothing behind and the process can still fork.
class ImageFs {
 public:
  // Mounts `mountpoint` read-only; the file is `name`, `size` bytes, read ahead `readahead_kib` at most. The
  // agent is attached later.
  static Result<std::unique_ptr<ImageFs>> mount(const std::string& mountpoint, const std::string& name,
                                                std::int64_t size, int readahead_kib, Logger log);
  ~ImageFs();
  ImageFs(const ImageFs&) = delete;
  ImageFs& operator=(const ImageFs&) = delete;

  // Serves requests on several threads until SIGTERM/SIGINT/SIGHUP (libfuse's handlers) or an unmount.
  // Returns when the loop has ended; the agent must then answer its parked reads (stop_serving) before
  // unmount().
  void serve(ImageAgent& agent);
  // Marks the session as ended, from any thread: serve() returns once its thread next wakes, which the caller
  // brings about with a signal whose handler does nothing (libfuse's loop waits in sem_wait and re-checks).
  // For `vm`, whose loop ends when QEMU exits rather than on a signal to the process.
  void request_exit();
  void unmount();

  struct State;

 private:
  ImageFs() = default;
  std::unique_ptr<State> state_;
};

}  // namespace swarmboot::agent
