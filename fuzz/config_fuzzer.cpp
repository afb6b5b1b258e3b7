// The YAML config loader: any text is a Config or a ConfigError, never an abort.
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)pgvigil::config::LoadString(std::string(reinterpret_cast<const char*>(data), size),
                                      "fuzz.yaml");
  } catch (const pgvigil::config::ConfigError&) {
  }
  return 0;
}
