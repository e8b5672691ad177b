// The allow/deny corpus of test/corpus/: one YAML file per admission case, run through the same
// review() the server and `seccomp-gate review` use. The expectations were written from SPEC.md
// and the documented message formats, not copied from the program's output, so the corpus is
// an independent oracle. The case format is described in test/corpus/README.md.

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/admission.h"
#include "policy/checks/checks.h"
#include "policy/io/files.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using seccomp_gate::Endpoint;
using seccomp_gate::Snapshot;
using seccomp_gate::SnapshotPtr;

constexpr std::size_t kMinimumCases = 80;

// Every area the corpus must cover (a subdirectory of test/corpus/cases/ each): one per rule of
// the registry (policy/checks/), and these topics.
constexpr std::array<std::string_view, 8> kTopics{"windows",    "exemptions", "workloads",
                                                  "containers", "operations", "modes",
                                                  "mutation",   "multiple"};

std::vector<std::string> areas() {
    std::vector<std::string> out(kTopics.begin(), kTopics.end());
    for (const auto* rule : seccomp_gate::checks::registry()) out.emplace_back(rule->id);
    return out;
}

fs::path corpus_dir() { return seccomp_gate::testing::source_path("test/corpus"); }

// ---- YAML to JSON -------------------------------------------------------------------------

// Plain scalars follow the YAML 1.2 core schema (null, booleans, numbers); quoted and block
// scalars (tag "!") and explicit !!str stay strings.
json scalar_to_json(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
    if (tag != "?" && !tag.empty()) throw std::runtime_error("unsupported YAML tag " + tag);
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    static const std::regex kInteger("[-+]?[0-9]+");
    static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(text, kInteger)) return std::stoll(text);
    if (std::regex_match(text, kFloat)) return std::stod(text);
    return text;
}

json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Undefined:
        case YAML::NodeType::Null:
            // A quoted empty string or "null" is a Scalar, not Null: only plain nulls land here.
            return nullptr;
        case YAML::NodeType::Scalar:
            return scalar_to_json(node);
        case YAML::NodeType::Sequence: {
            json out = json::array();
            for (const auto& item : node) out.push_back(yaml_to_json(item));
            return out;
        }
        case YAML::NodeType::Map: {
            json out = json::object();
            for (const auto& entry : node) out[entry.first.Scalar()] = yaml_to_json(entry.second);
            return out;
        }
    }
    return nullptr;
}

// ---- The corpus -----------------------------------------------------------------------------

struct CorpusCase {
    std::string file;  // relative to test/corpus/cases, e.g. "unconfined/pod-level.yaml"
    std::string area;  // its directory
};

std::vector<CorpusCase> list_cases() {
    std::vector<CorpusCase> cases;
    const fs::path root = corpus_dir() / "cases";
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".yaml") continue;
        const fs::path relative = fs::relative(entry.path(), root);
        cases.push_back({relative.generic_string(), relative.begin()->string()});
    }
    std::sort(cases.begin(), cases.end(),
              [](const CorpusCase& a, const CorpusCase& b) { return a.file < b.file; });
    return cases;
}

const Snapshot& policy_snapshot(const std::string& name) {
    static std::map<std::string, SnapshotPtr> cache;
    auto found = cache.find(name);
    if (found == cache.end()) {
        const fs::path file = corpus_dir() / "policies" / (name + ".yaml");
        found = cache.emplace(name, seccomp_gate::io::load_snapshot(file)).first;
    }
    return *found->second;
}

// A uid per review, the way the API server hands out one per request.
std::string next_uid(const std::string& file) {
    static unsigned counter = 0;
    std::uint32_t hash = 2166136261U;
    for (const char c : file) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
    std::ostringstream out;
    out << std::hex << hash << "-corpus-" << std::dec << ++counter;
    return out.str();
}

// Independent of policy/base64.h, so the oracle does not share the code under test.
std::string base64_decode(const std::string& text) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        if (c == '=') break;
        const auto value = kAlphabet.find(c);
        if (value == std::string::npos) throw std::runtime_error("patch is not base64");
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

std::string join(const std::vector<std::string>& texts, const std::string& separator) {
    std::string out;
    for (const auto& text : texts) {
        if (!out.empty()) out += separator;
        out += text;
    }
    return out;
}

std::string string_at(const json& object, const json::json_pointer& pointer) {
    return object.contains(pointer) && object.at(pointer).is_string()
               ? object.at(pointer).get<std::string>()
               : std::string();
}

// One case, read and checked for shape so that a typo in a case file fails loudly.
struct CaseSpec {
    std::string description;
    std::string policy;
    Endpoint endpoint = Endpoint::kValidate;
    std::string api_version = "admission.k8s.io/v1";
    json request;
    json expect;
};

CaseSpec read_case(const fs::path& path) {
    const json doc = yaml_to_json(YAML::LoadFile(path.string()));
    if (!doc.is_object()) throw std::runtime_error("a case must be a mapping");
    static const std::set<std::string> kKeys{"description", "policy",  "endpoint",
                                             "apiVersion",  "request", "expect"};
    static const std::set<std::string> kExpectKeys{
        "allowed", "code", "violations", "warnings", "auditAnnotations", "patch", "objectRef"};
    for (const auto& [key, value] : doc.items()) {
        if (kKeys.count(key) == 0) throw std::runtime_error("unknown key " + key);
    }
    for (const char* key : {"description", "policy", "request", "expect"}) {
        if (!doc.contains(key)) throw std::runtime_error(std::string("missing key ") + key);
    }
    CaseSpec spec;
    spec.description = doc["description"].get<std::string>();
    spec.policy = doc["policy"].get<std::string>();
    const std::string endpoint = doc.value("endpoint", std::string("validate"));
    if (endpoint == "mutate") {
        spec.endpoint = Endpoint::kMutate;
    } else if (endpoint != "validate") {
        throw std::runtime_error("endpoint must be validate or mutate");
    }
    spec.api_version = doc.value("apiVersion", spec.api_version);
    spec.request = doc["request"];
    spec.expect = doc["expect"];
    if (!spec.request.is_object() || !spec.request.contains("operation") ||
        !spec.request.contains("kind")) {
        throw std::runtime_error("request needs operation and kind");
    }
    if (!spec.expect.is_object() || !spec.expect.contains("allowed") ||
        !spec.expect["allowed"].is_boolean()) {
        throw std::runtime_error("expect.allowed (true or false) is required");
    }
    for (const auto& [key, value] : spec.expect.items()) {
        if (kExpectKeys.count(key) == 0) throw std::runtime_error("unknown key expect." + key);
    }
    if (!spec.expect["allowed"].get<bool>() &&
        spec.expect.value("violations", json::array()).empty()) {
        throw std::runtime_error("a denial must list its expect.violations");
    }
    return spec;
}

// The resource the API server names beside request.kind, for cases that do not give their own:
// the kind's plural, and "pods" for the options of a pod's CONNECT subresources.
json resource_of(const json& kind) {
    std::string name = kind.value("kind", std::string());
    if (name.starts_with("Pod") && name.ends_with("Options")) name = "Pod";
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return {{"group", kind.value("group", std::string())},
            {"version", kind.value("version", std::string())},
            {"resource", name + "s"}};
}

json send(const Snapshot& snapshot, const CaseSpec& spec, const json& request, Endpoint endpoint,
          const std::string& uid, std::vector<std::string>* rules = nullptr) {
    json body{{"apiVersion", spec.api_version}, {"kind", "AdmissionReview"}, {"request", request}};
    body["request"]["uid"] = uid;
    if (!request.contains("resource")) body["request"]["resource"] = resource_of(request["kind"]);
    const seccomp_gate::ReviewOutcome outcome =
        seccomp_gate::review(snapshot, body.dump(), endpoint);
    if (outcome.verdict == seccomp_gate::Verdict::kNotJson) {
        throw std::runtime_error("review() says the body is not JSON: " + outcome.response);
    }
    if (rules != nullptr) *rules = outcome.rules;
    return json::parse(outcome.response);
}

// "Kind/namespace/name" as the denial message starts.
std::string expected_object_ref(const CaseSpec& spec) {
    if (spec.expect.contains("objectRef")) return spec.expect["objectRef"].get<std::string>();
    const json& request = spec.request;
    const json object = request.value("object", json::object());
    std::string ns = request.value("namespace", std::string());
    if (ns.empty()) ns = string_at(object, json::json_pointer("/metadata/namespace"));
    std::string name = request.value("name", std::string());
    if (name.empty()) name = string_at(object, json::json_pointer("/metadata/name"));
    std::string ref = request["kind"].value("kind", std::string());
    if (!ns.empty()) ref += "/" + ns;
    return ref + "/" + name;
}

std::vector<std::string> strings(const json& value) {
    std::vector<std::string> out;
    for (const auto& item : value) out.push_back(item.get<std::string>());
    return out;
}

// Checks one AdmissionReview response against the case; returns what does not match.
std::vector<std::string> check_response(const CaseSpec& spec, const json& review,
                                        const std::string& uid, json* patch_out) {
    std::vector<std::string> problems;
    const auto expect_equal = [&](const std::string& what, const json& expected,
                                  const json& actual) {
        if (expected != actual) {
            problems.push_back(what + ": expected " + expected.dump() + ", got " + actual.dump());
        }
    };
    expect_equal("apiVersion", spec.api_version, review.value("apiVersion", json()));
    expect_equal("kind", "AdmissionReview", review.value("kind", json()));
    const json response = review.value("response", json::object());
    expect_equal("response.uid", uid, response.value("uid", json()));

    const bool allowed = spec.expect["allowed"].get<bool>();
    expect_equal("allowed", allowed, response.value("allowed", json()));

    const json status = response.value("status", json::object());
    if (spec.expect.contains("code")) {
        expect_equal("status.code", spec.expect["code"], status.value("code", json()));
    } else if (!allowed) {
        expect_equal("status.code", 403, status.value("code", json()));  // SPEC section 5
    }

    const std::vector<std::string> violations =
        strings(spec.expect.value("violations", json::array()));
    const json warnings = response.value("warnings", json::array());
    if (!allowed) {
        const std::string message =
            expected_object_ref(spec) + " violates the seccomp policy: " + join(violations, "; ");
        expect_equal("status.message", message, status.value("message", json()));
    } else {
        if (!status.empty()) problems.push_back("an allowed response has status " + status.dump());
        // Warn mode: each violation comes back as a warning.
        for (const auto& violation : violations) {
            const std::string text = "would be denied: " + violation;
            if (std::find(warnings.begin(), warnings.end(), json(text)) == warnings.end()) {
                problems.push_back("warning missing: " + json(text).dump() + " in " +
                                   warnings.dump());
            }
        }
    }
    expect_equal("warnings", spec.expect.value("warnings", json::array()), warnings);
    expect_equal("auditAnnotations", spec.expect.value("auditAnnotations", json::object()),
                 response.value("auditAnnotations", json::object()));

    const json expected_patch = spec.expect.value("patch", json("none"));
    if (expected_patch == json("none")) {
        if (response.contains("patch") || response.contains("patchType")) {
            problems.push_back("unexpected patch " + response.value("patch", json()).dump());
        }
        return problems;
    }
    if (!response.contains("patch")) {
        problems.push_back("expected a patch, got none: " + response.dump());
        return problems;
    }
    expect_equal("patchType", "JSONPatch", response.value("patchType", json()));
    json patch;
    try {
        patch = json::parse(base64_decode(response.value("patch", std::string())));
    } catch (const std::exception& error) {
        problems.push_back(std::string("the patch cannot be decoded: ") + error.what());
        return problems;
    }
    expect_equal("patch", expected_patch, patch);
    if (patch_out != nullptr) *patch_out = patch;
    return problems;
}

// The patched object must be accepted as it is: /mutate is idempotent and /validate allows it.
std::vector<std::string> check_patched(const Snapshot& snapshot, const CaseSpec& spec,
                                       const std::string& file, const json& patch) {
    std::vector<std::string> problems;
    json request = spec.request;
    try {
        request["object"] = request["object"].patch(patch);
    } catch (const std::exception& error) {
        problems.push_back(std::string("the patch does not apply (RFC 6902): ") + error.what());
        return problems;
    }
    for (const Endpoint endpoint : {spec.endpoint, Endpoint::kValidate}) {
        const std::string name = endpoint == Endpoint::kMutate ? "/mutate" : "/validate";
        const std::string uid = next_uid(file);
        const json review = send(snapshot, spec, request, endpoint, uid);
        const json response = review.value("response", json::object());
        if (response.value("uid", json()) != json(uid)) {
            problems.push_back(name + " of the patched object: uid not echoed");
        }
        if (response.value("allowed", json()) != json(true)) {
            problems.push_back(name + " of the patched object is not allowed: " + response.dump());
        }
        if (response.contains("patch") || response.contains("patchType")) {
            problems.push_back(
                name + " of the patched object patches again (not idempotent): " + response.dump());
        }
    }
    return problems;
}

std::vector<std::string> run_case(const CorpusCase& corpus_case) {
    const fs::path path = corpus_dir() / "cases" / corpus_case.file;
    const CaseSpec spec = read_case(path);
    const Snapshot& snapshot = policy_snapshot(spec.policy);
    const std::string uid = next_uid(corpus_case.file);
    const json review = send(snapshot, spec, spec.request, spec.endpoint, uid);
    json patch;
    std::vector<std::string> problems = check_response(spec, review, uid, &patch);
    if (!patch.is_null() && problems.empty()) {
        const auto more = check_patched(snapshot, spec, corpus_case.file, patch);
        problems.insert(problems.end(), more.begin(), more.end());
    }
    return problems;
}

}  // namespace

TEST_CASE("corpus: every admission case gets the decision SPEC.md calls for") {
    const std::vector<CorpusCase> cases = list_cases();
    REQUIRE_FALSE(cases.empty());
    for (const auto& corpus_case : cases) {
        SUBCASE(corpus_case.file.c_str()) {
            INFO("case file: test/corpus/cases/" << corpus_case.file);
            std::vector<std::string> problems;
            try {
                problems = run_case(corpus_case);
            } catch (const std::exception& error) {
                problems.push_back(std::string("cannot run the case: ") + error.what());
            }
            CHECK_MESSAGE(problems.empty(), "test/corpus/cases/" << corpus_case.file << ":\n  "
                                                                 << join(problems, "\n  "));
        }
    }
}

TEST_CASE("corpus: covers every area with enough cases") {
    const std::vector<CorpusCase> cases = list_cases();
    CHECK(cases.size() >= kMinimumCases);
    std::map<std::string, std::size_t> per_area;
    for (const auto& corpus_case : cases) ++per_area[corpus_case.area];
    for (const auto& area : areas()) {
        INFO("area: " << area);
        CHECK(per_area[area] >= 1);
    }
    // No stray directory without cases either.
    for (const auto& entry : fs::directory_iterator(corpus_dir() / "cases")) {
        if (!entry.is_directory()) continue;
        INFO("directory: " << entry.path().filename().string());
        CHECK(per_area[entry.path().filename().string()] >= 1);
    }
}

TEST_CASE("corpus: every registered rule has a failing case and a passing case") {
    // Failing: a denied case whose violations include the rule. Passing: an allowed case in the
    // rule's own directory (cases/<rule id>/), showing what the rule lets through.
    std::map<std::string, std::size_t> failing;
    std::map<std::string, std::size_t> passing;
    for (const auto& corpus_case : list_cases()) {
        const CaseSpec spec = read_case(corpus_dir() / "cases" / corpus_case.file);
        std::vector<std::string> rules;
        (void)send(policy_snapshot(spec.policy), spec, spec.request, spec.endpoint,
                   next_uid(corpus_case.file), &rules);
        if (spec.expect["allowed"].get<bool>()) {
            ++passing[corpus_case.area];
        } else {
            for (const auto& rule : rules) ++failing[rule];
        }
    }
    for (const auto* rule : seccomp_gate::checks::registry()) {
        const std::string id(rule->id);
        INFO("rule: " << id);
        CHECK(failing[id] >= 1);
        CHECK(passing[id] >= 1);
    }
}

TEST_CASE("corpus: the test catalog leaves out the files that are not profiles") {
    const Snapshot& snapshot = policy_snapshot("default");
    for (const char* name : {"profiles/default.json", "profiles/web.json", "profiles/audit.json",
                             "profiles/allow.json", "profiles/team/api.json"}) {
        INFO("profile: " << std::string(name));
        CHECK(snapshot.catalog.find(name) != nullptr);
    }
    for (const char* name : {"profiles/broken.json", "profiles/invalid.json"}) {
        INFO("profile: " << std::string(name));
        CHECK(snapshot.catalog.find(name) == nullptr);
        const auto& rejected = snapshot.catalog.rejected();
        const std::string file = std::string(name);
        CHECK(std::any_of(rejected.begin(), rejected.end(),
                          [&](const auto& rejection) { return rejection.file == file; }));
    }
    CHECK(policy_snapshot("prefix").catalog.find("gate/profiles/web.json") != nullptr);
    CHECK(policy_snapshot("prefix").catalog.find("profiles/web.json") == nullptr);
}
