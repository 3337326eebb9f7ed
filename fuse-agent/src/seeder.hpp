// `swarmboot-agent seed`: a plain LAN-tuned seeder for one image, used by tests and benchmarks (the
// appliance's own seeder lives in swarmbootd). seed_mode: the data is trusted at start and each piece is
// hashed lazily before its first upload — unless --no-verify, a test-only switch that turns hash checks off
// so a corrupted copy is served as-is (a bad peer).
#pragma once

#include "agent_options.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// Runs until SIGTERM or SIGINT.
Status run_seeder(const SeedOptions& options, const Logger& log);

}  // namespace swarmboot::agent
