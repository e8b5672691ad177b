#pragma once
// Table-test helpers for the rules: a pod spec written as JSON, judged under a policy.

#include <doctest/doctest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "policy/decode.h"
#include "policy/evaluate.h"
#include "policy/json_node.h"
#include "test_support.h"

namespace seccomp_gate::testing {

// Decodes `json` as an object of `kind` ("Pod", "Deployment", ...).
inline Object decode_json(const std::string& json, std::string_view group = "",
                          std::string_view kind = "Pod") {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
    return decode_object(JsonNode(root), find_workload_kind(group, kind));
}

// A Pod with `spec` (JSON text of the spec object) and optional metadata annotations.
inline std::string pod(const std::string& spec, const std::string& annotations = "{}") {
    return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns",)"
           R"("annotations":)" +
           annotations + R"(},"spec":)" + spec + "}";
}

struct Expected {
    Severity severity;
    std::string text;  // "path: message"
};

inline std::vector<std::string> texts(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& finding : findings) {
        out.push_back((finding.severity == Severity::kWarning ? "warning " : "violation ") +
                      finding.text());
    }
    return out;
}

inline std::vector<std::string> texts(const std::vector<Expected>& expected) {
    std::vector<std::string> out;
    for (const auto& item : expected) {
        out.push_back((item.severity == Severity::kWarning ? "warning " : "violation ") +
                      item.text);
    }
    return out;
}

inline std::vector<Finding> findings_for(const std::string& policy, const std::string& json,
                                         std::string_view group = "",
                                         std::string_view kind = "Pod") {
    const auto snapshot = make_test_snapshot(policy);
    const Object object = decode_json(json, group, kind);
    return judge(*snapshot, object, object.ns).findings;
}

}  // namespace seccomp_gate::testing
