// `swarmboot image …`: building OS images and registering them.
#pragma once

#include <string>
#include <vector>

namespace swarmboot::images {

// Runs `swarmboot image <args…>` (args start after "image"); returns the process exit code.
int run_image_command(const std::vector<std::string>& args);

}  // namespace swarmboot::images
