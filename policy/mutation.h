#pragma once
// SPEC section 7: injecting the policy's defaultProfile at pod level.

#include <string>
#include <vector>

#include "policy/model.h"
#include "policy/policy_config.h"

namespace seccomp_gate {

// One RFC 6902 "add" of the default profile at the pod level of one pod spec.
struct ProfilePatch {
    std::size_t spec_index = 0;
    std::string path;                       // JSON pointer
    bool creates_security_context = false;  // the value is {"seccompProfile": ...}
};

struct MutationScope {
    bool pods = false;       // Pod specs (CREATE only)
    bool templates = false;  // workload templates (mutateTemplates, CREATE and UPDATE)
};

// The patches that give every eligible pod spec of `object` the default profile: its pod level
// is unset, it is not a Windows pod, and one of its containers has no profile of its own.
std::vector<ProfilePatch> plan_mutation(const PolicyConfig& policy, const Object& object,
                                        MutationScope scope);

// Applies the patches to the model, so the rules judge what the API server will store.
void apply_mutation(const PolicyConfig& policy, const std::vector<ProfilePatch>& patches,
                    Object& object);

// The RFC 6902 document for the patches (a JSON array), unencoded.
std::string patch_document(const PolicyConfig& policy, const std::vector<ProfilePatch>& patches);

// Escapes one JSON pointer segment (RFC 6901: "~" -> "~0", "/" -> "~1").
std::string escape_pointer_segment(std::string_view segment);

}  // namespace seccomp_gate
