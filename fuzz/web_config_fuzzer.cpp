// The web-config loader (it reads a file: the input is written to one first).
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "config/config.h"
#include "config/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/pgvigil-fuzz-web-" + std::to_string(::getpid()) + ".yml";
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    (void)pgvigil::config::LoadWebConfig(path);
  } catch (const pgvigil::config::ConfigError&) {
  }
  return 0;
}
