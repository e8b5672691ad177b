#pragma once
// Duplicate keys in one JSON object or YAML mapping. Decoders disagree on them: simdjson and
// yaml-cpp give the first value, Kubernetes (encoding/json, sigs.k8s.io/yaml) the last, so
// `"type":"RuntimeDefault","type":"Unconfined"` would be judged on a value the cluster never
// runs. Such documents are refused instead of read, as kubectl's strict decoder refuses them.

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

namespace seccomp_gate {

struct DuplicateKey {
    std::string path;  // field path of the repeated key: "request.object.spec.securityContext"
    int line = 0;      // YAML: 1-based line of the second occurrence (0 for JSON)
};

// The first duplicate key in document order, walking the whole document.
std::optional<DuplicateKey> find_duplicate_key(simdjson::dom::element root);
std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root);

}  // namespace seccomp_gate
