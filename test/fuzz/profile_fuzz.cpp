// libFuzzer target: any bytes as a catalog profile file, through the linter and the catalog.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/catalog.h"
#include "profile/filter.h"
#include "profile/lint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string content(reinterpret_cast<const char*>(data), size);
    const auto check = seccomp_gate::check_profile(content);
    if (check.error.empty() == check.default_action.empty()) std::abort();
    const auto catalog = seccomp_gate::build_catalog("p", {{"x.json", content, ""}});
    if (catalog.profiles().size() + catalog.rejected().size() != 1) std::abort();
    if (catalog.profiles().size() == 1 && catalog.find("p/x.json") == nullptr) std::abort();

    // The catalog's verdict is the linter's, and a profile without lint errors is one a runtime
    // builds a filter from (on this machine: unless its architectures are all of the other
    // byte order, which only such nodes build, and the linter warns about).
    const auto report = seccomp_gate::profile::lint_profile(content);
    if (report.has_errors() == check.error.empty()) std::abort();
    const bool other_byte_order =
        std::any_of(report.findings.begin(), report.findings.end(),
                    [](const auto& finding) { return finding.check == "other-byte-order"; });
    if (!report.has_errors() && !other_byte_order) {
        if (!report.profile) std::abort();
        std::string error;
        if (!seccomp_gate::profile::build_filter(*report.profile, error) || !error.empty()) {
            std::abort();
        }
    }
    return 0;
}
