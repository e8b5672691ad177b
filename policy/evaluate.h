#pragma once
// The decision for one object: every rule of the registry on every pod spec.

#include <string_view>
#include <vector>

#include "policy/finding.h"
#include "policy/model.h"
#include "policy/snapshot.h"

namespace seccomp_gate {

struct Judgement {
    Mode mode = Mode::kEnforce;
    std::vector<Finding> findings;

    bool has_violations() const;
};

// Every registered rule on every pod spec that seccomp applies to; `ns` is the namespace the
// object lives in (its mode). Exemptions are the caller's: an exempt object is neither judged
// nor mutated (PolicyConfig::is_exempt).
Judgement judge(const Snapshot& snapshot, const Object& object, std::string_view ns);

}  // namespace seccomp_gate
