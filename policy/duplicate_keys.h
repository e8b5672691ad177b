#pragma once
// Duplicate keys in one JSON object or YAML mapping. Decoders disagree on them: simdjson and
// yaml-cpp give the first value, Kubernetes (encoding/json, sigs.k8s.io/yaml) the last, so
// `"type":"RuntimeDefault","type":"Unconfined"` would be judged on a value the cluster never
// runs. Such requests are refused instead of read (400), and such manifests reported as errors,
// as kubectl's strict decoder refuses them.

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate {

struct DuplicateKey {
    std::string path;  // field path of the repeated key: "request.object.spec.securityContext"
    int line = 0;      // YAML: 1-based line of the second occurrence (0 for JSON)
};

// The first duplicate key a JSON decoder met (json_node.h): its text in the parser's string
// buffer, which names that one occurrence.
struct DuplicateSink {
    const char* key = nullptr;

    void record(std::string_view occurrence) {
        if (key == nullptr) key = occurrence.data();
    }
};

// The field path of the key occurrence a DuplicateSink recorded in `root`'s document.
std::string path_of_key(simdjson::dom::element root, const char* occurrence);

// The first duplicate key of a YAML document in document order, walking all of it (kubectl's
// strict decoder refuses a manifest with one anywhere).
std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root);

// The index of the first key of `keys` (document order) that repeats an earlier one, if any;
// O(n log n) whatever the input.
std::optional<std::size_t> first_repeated(const std::vector<std::string_view>& keys);

}  // namespace seccomp_gate
