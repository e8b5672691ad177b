#pragma once
// Manifest files as `audit` reads them: multi-document YAML, JSON, `kind: List` and the
// `kubectl get -o json|yaml` output, decoded into the typed model with source lines.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "policy/model.h"

namespace seccomp_gate {

struct ManifestObject {
    Object object;
    std::size_t document = 0;  // 1-based index of the YAML document in its file
};

struct ManifestError {
    std::size_t document = 0;
    int line = 0;
    std::string message;
};

struct ManifestSet {
    std::vector<ManifestObject> objects;
    std::vector<ManifestError> errors;  // documents that could not be read; others still are
    std::size_t skipped = 0;            // documents that are not Kubernetes objects
};

ManifestSet parse_manifests(std::string_view text);

}  // namespace seccomp_gate
