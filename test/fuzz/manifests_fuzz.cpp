// libFuzzer target: any bytes as a manifest file for `audit` (YAML and JSON), judged.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/catalog.h"
#include "policy/evaluate.h"
#include "policy/manifests.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto kSnapshot = seccomp_gate::make_snapshot(
        seccomp_gate::PolicyConfig{},
        seccomp_gate::build_catalog("", {{"p.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})", ""}}),
        "fuzz");
    const auto set =
        seccomp_gate::parse_manifests(std::string_view(reinterpret_cast<const char*>(data), size));
    for (const auto& item : set.objects) {
        (void)seccomp_gate::judge(*kSnapshot, item.object, item.object.ns);
    }
    return 0;
}
