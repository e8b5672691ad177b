// libFuzzer target: any bytes as a catalog profile file.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string content(reinterpret_cast<const char*>(data), size);
    const auto check = seccomp_gate::check_profile(content);
    if (check.error.empty() == check.default_action.empty()) std::abort();
    const auto catalog = seccomp_gate::build_catalog("p", {{"x.json", content, ""}});
    if (catalog.profiles().size() + catalog.rejected().size() != 1) std::abort();
    if (catalog.profiles().size() == 1 && catalog.find("p/x.json") == nullptr) std::abort();
    return 0;
}
