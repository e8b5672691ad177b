// The registry: every rule once, in the order judge() runs them. Adding a rule is adding its file,
// a line here, and its corpus cases (test/unit/corpus_test.cpp fails without them).

#include <array>
#include <stdexcept>

#include "policy/checks/checks.h"

namespace seccomp_gate::checks {
namespace {

constexpr std::array<const Rule*, 9> kRules{
    &kMalformed,  &kUnconfined, &kUnknownType, &kRuntimeDefault,   &kLocalhost,
    &kPermissive, &kUnset,      &kPrivileged,  &kLegacyAnnotation,
};

}  // namespace

void validate_registry(std::span<const Rule* const> rules) {
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i]->id.empty() || rules[i]->check == nullptr) {
            throw std::logic_error("rule " + std::to_string(i) + " has no id or no check");
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (rules[j]->id == rules[i]->id) {
                throw std::logic_error("rule id \"" + std::string(rules[i]->id) +
                                       "\" is registered twice");
            }
        }
    }
}

std::span<const Rule* const> registry() {
    static const bool kValid = (validate_registry(kRules), true);
    (void)kValid;
    return kRules;
}

}  // namespace seccomp_gate::checks
