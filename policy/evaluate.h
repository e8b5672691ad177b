#pragma once
// The decision for one object: exemptions, then every check on every pod spec.

#include <string_view>
#include <vector>

#include "policy/finding.h"
#include "policy/model.h"
#include "policy/snapshot.h"

namespace seccomp_gate {

struct Judgement {
    bool exempt = false;  // namespace or username exempt: not evaluated
    Mode mode = Mode::kEnforce;
    std::vector<Finding> findings;

    bool has_violations() const;
};

// `ns` is the namespace the object lives in; `username` the requester (empty offline).
Judgement judge(const Snapshot& snapshot, const Object& object, std::string_view ns,
                std::string_view username);

}  // namespace seccomp_gate
