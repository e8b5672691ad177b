// The rule registry (policy/checks/): ids unique, and the README's rule table and SARIF's rule
// metadata say exactly what is registered.

#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/checks/checks.h"
#include "policy/finding.h"
#include "policy/io/files.h"
#include "test_support.h"

namespace {

using seccomp_gate::checks::Rule;

void no_op(const seccomp_gate::checks::CheckContext& /*context*/,
           const seccomp_gate::PodSpec& /*spec*/, std::vector<seccomp_gate::Finding>& /*out*/) {}

}  // namespace

TEST_CASE("the registry refuses a rule id registered twice, or a rule without id or check") {
    const Rule first{"unconfined", "one", &no_op};
    const Rule again{"unconfined", "two", &no_op};
    const Rule nameless{"", "three", &no_op};
    const Rule unchecked{"x", "four", nullptr};
    const std::vector<const Rule*> duplicated{&first, &again};
    CHECK_THROWS_WITH_AS(seccomp_gate::checks::validate_registry(duplicated),
                         "rule id \"unconfined\" is registered twice", std::logic_error);
    CHECK_THROWS_AS(seccomp_gate::checks::validate_registry(std::vector<const Rule*>{&nameless}),
                    std::logic_error);
    CHECK_THROWS_AS(seccomp_gate::checks::validate_registry(std::vector<const Rule*>{&unchecked}),
                    std::logic_error);
    CHECK_NOTHROW(seccomp_gate::checks::validate_registry(seccomp_gate::checks::registry()));
}

TEST_CASE("SARIF's rule metadata is the registry") {
    const auto& catalog = seccomp_gate::rule_catalog();
    const auto registry = seccomp_gate::checks::registry();
    REQUIRE(catalog.size() == registry.size());
    for (std::size_t i = 0; i < catalog.size(); ++i) {
        CHECK(catalog[i].id == registry[i]->id);
        CHECK(catalog[i].summary == registry[i]->summary);
    }
}

TEST_CASE("the README's rule table lists every registered rule and nothing else") {
    const std::string readme =
        seccomp_gate::io::read_file(seccomp_gate::testing::source_path("README.md"));
    const auto start = readme.find("| rule | finding |");
    REQUIRE(start != std::string::npos);
    const auto end = readme.find("\n\n", start);
    const std::string table = readme.substr(start, end - start);
    std::set<std::string> documented;
    const std::regex row(R"(\n\| `([a-z-]+)` \|)");
    for (auto it = std::sregex_iterator(table.begin(), table.end(), row);
         it != std::sregex_iterator(); ++it) {
        documented.insert((*it)[1]);
    }
    std::set<std::string> registered;
    for (const auto* rule : seccomp_gate::checks::registry()) registered.emplace(rule->id);
    CHECK(documented == registered);
}
