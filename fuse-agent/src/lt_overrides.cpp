// Raw libtorrent setting overrides (see lt_overrides.hpp).
#include "lt_overrides.hpp"

namespace swarmboot::agent {

Status apply_lt_settings(const std::vector<std::string>& assignments, lt::settings_pack& pack) {
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) return Error{"could not apply --lt-setting " + a + ": expected NAME=VALUE"};
    const std::string name = a.substr(0, eq), value = a.substr(eq + 1);
    const int id = lt::setting_by_name(name);
    if (id < 0) return Error{"could not apply --lt-setting " + a + ": no such libtorrent setting"};
    try {
      switch (id & lt::settings_pack::type_mask) {
        case lt::settings_pack::string_type_base:
          pack.set_str(id, value);
          break;
        case lt::settings_pack::int_type_base:
          pack.set_int(id, std::stoi(value));
          break;
        case lt::settings_pack::bool_type_base:
          if (value != "true" && value != "false" && value != "1" && value != "0")
            return Error{"could not apply --lt-setting " + a + ": expected true or false"};
          pack.set_bool(id, value == "true" || value == "1");
          break;
        default:
          return Error{"could not apply --lt-setting " + a + ": unknown setting type"};
      }
    } catch (const std::exception&) {
      return Error{"could not apply --lt-setting " + a + ": expected a number"};
    }
  }
  return {};
}

}  // namespace swarmboot::agent
