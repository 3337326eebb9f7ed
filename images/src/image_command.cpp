// Placeholder until the image commands land (issue 2): says so instead of pretending.
#include "swarmboot/images/image_command.hpp"

#include <iostream>

namespace swarmboot::images {

int run_image_command(const std::vector<std::string>&) {
  std::cerr << "swarmboot image: not built yet\n";
  return 2;
}

}  // namespace swarmboot::images
