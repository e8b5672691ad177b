// Golden AdmissionReview pairs (test/golden/README.md): every request goes through review(), the
// one entry point the server and `seccomp-gate review` share, and the response must match the
// golden byte for byte. The corpus itself is checked too, and every patch is decoded, applied to
// the request's object and checked for idempotency (SPEC section 7).

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/admission.h"
#include "policy/io/files.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using seccomp_gate::Endpoint;
using seccomp_gate::Snapshot;
using seccomp_gate::SnapshotPtr;

constexpr std::size_t kMinimumPairs = 20;
constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";

struct GoldenCase {
    std::string label;  // "validate/pod-allowed"
    fs::path request;
    fs::path response;
    fs::path policy;
    Endpoint endpoint = Endpoint::kValidate;
};

fs::path golden_root() { return seccomp_gate::testing::source_path("test/golden"); }

std::string read_text(const fs::path& path) { return seccomp_gate::io::read_file(path); }

// The golden is the response without the newline the CLI prints; tolerate one an editor added.
std::string without_final_newline(std::string text) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::vector<GoldenCase> golden_cases(const std::string& directory) {
    constexpr std::string_view kSuffix = ".request.json";
    const Endpoint endpoint = directory == "mutate" ? Endpoint::kMutate : Endpoint::kValidate;
    std::vector<GoldenCase> cases;
    for (const auto& entry : fs::directory_iterator(golden_root() / directory)) {
        const std::string file = entry.path().filename().string();
        if (!file.ends_with(kSuffix)) continue;
        const std::string name = file.substr(0, file.size() - kSuffix.size());
        const fs::path base = golden_root() / directory / name;
        fs::path policy = golden_root() / "policy.yaml";
        if (const fs::path named = fs::path(base.string() + ".policy"); fs::exists(named)) {
            policy = golden_root() / trimmed(read_text(named));
        }
        cases.push_back({directory + "/" + name, entry.path(),
                         fs::path(base.string() + ".response.json"), policy, endpoint});
    }
    std::sort(cases.begin(), cases.end(),
              [](const GoldenCase& a, const GoldenCase& b) { return a.label < b.label; });
    return cases;
}

const Snapshot& snapshot_for(const fs::path& policy) {
    static std::map<std::string, SnapshotPtr> cache;
    auto& slot = cache[policy.string()];
    if (!slot) slot = seccomp_gate::io::load_snapshot(policy);
    return *slot;
}

// Strict standard base64 (RFC 4648 section 4, padded): what the API server decodes a patch with.
std::optional<std::string> base64_decode(std::string_view text) {
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t chunk = 0;
        std::size_t padding = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            std::uint32_t value = 0;
            if (c == '=') {
                if (i + 4 != text.size() || j < 2) return std::nullopt;
                ++padding;
            } else {
                if (padding > 0) return std::nullopt;
                const auto found = kAlphabet.find(c);
                if (found == std::string_view::npos) return std::nullopt;
                value = static_cast<std::uint32_t>(found);
            }
            chunk = (chunk << 6U) | value;
        }
        out += static_cast<char>((chunk >> 16U) & 0xFFU);
        if (padding < 2) out += static_cast<char>((chunk >> 8U) & 0xFFU);
        if (padding < 1) out += static_cast<char>(chunk & 0xFFU);
    }
    return out;
}

bool valid_pointer(const json& pointer) {
    if (!pointer.is_string()) return false;
    const std::string& text = pointer.get_ref<const std::string&>();
    if (!text.empty() && text.front() != '/') return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '~') continue;
        if (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) return false;
    }
    return true;
}

// RFC 6902 section 4: an array of operations, each with a known "op", a JSON pointer "path", a
// "value" for add/replace/test and a "from" pointer for move/copy.
void check_rfc6902(const json& patch) {
    REQUIRE(patch.is_array());
    CHECK_FALSE(patch.empty());
    constexpr std::array<std::string_view, 6> kOps{"add", "remove", "replace", "move", "copy",
                                                   "test"};
    for (const auto& operation : patch) {
        REQUIRE(operation.is_object());
        REQUIRE(operation.contains("op"));
        REQUIRE(operation["op"].is_string());
        const std::string op = operation["op"].get<std::string>();
        CHECK(std::find(kOps.begin(), kOps.end(), op) != kOps.end());
        REQUIRE(operation.contains("path"));
        CHECK(valid_pointer(operation["path"]));
        if (op == "add" || op == "replace" || op == "test") CHECK(operation.contains("value"));
        if (op == "move" || op == "copy") {
            REQUIRE(operation.contains("from"));
            CHECK(valid_pointer(operation["from"]));
        }
    }
}

// What every response must say whatever the case (SPEC section 2), checked on the golden so the
// corpus cannot drift from the contract.
void check_response_contract(const GoldenCase& golden, const std::string& request_text,
                             const json& response) {
    const json request = json::parse(request_text, nullptr, false);
    REQUIRE(response.is_object());
    CHECK(response.size() == 3);
    CHECK(response.value("kind", "") == "AdmissionReview");
    std::string expected_version(kV1);
    if (request.is_object() && request.value("apiVersion", "") == kV1beta1) {
        expected_version = kV1beta1;
    }
    CHECK(response.value("apiVersion", "") == expected_version);
    REQUIRE(response.contains("response"));
    const json& answer = response["response"];
    REQUIRE(answer.contains("uid"));
    REQUIRE(answer.contains("allowed"));
    std::string expected_uid;
    if (request.is_object() && request.contains("request") && request["request"].is_object() &&
        request["request"].contains("uid") && request["request"]["uid"].is_string()) {
        expected_uid = request["request"]["uid"].get<std::string>();
    }
    CHECK(answer["uid"] == expected_uid);
    if (answer["allowed"] == false) {
        REQUIRE(answer.contains("status"));
        const int code = answer["status"].value("code", 0);
        CHECK((code == 400 || code == 403));
        CHECK_FALSE(answer["status"].value("message", "").empty());
        if (code == 400) CHECK_FALSE(answer.contains("patch"));
    } else {
        CHECK_FALSE(answer.contains("status"));
    }
    CHECK(answer.contains("patch") == answer.contains("patchType"));
    if (golden.endpoint == Endpoint::kValidate) CHECK_FALSE(answer.contains("patch"));
    if (answer.contains("patch")) {
        CHECK(answer["allowed"] == true);
        CHECK(answer["patchType"] == "JSONPatch");
    }
}

// The request with `object` replaced by `object`: a second call on the mutated object.
std::string with_object(const std::string& request_text, const json& object) {
    json request = json::parse(request_text);
    request["request"]["object"] = object;
    return request.dump();
}

void run_pairs(const std::string& directory) {
    const auto cases = golden_cases(directory);
    REQUIRE_FALSE(cases.empty());
    for (const auto& golden : cases) {
        INFO("golden case: ", golden.label, " (policy ", golden.policy.filename().string(), ")");
        REQUIRE(fs::exists(golden.response));
        REQUIRE(fs::exists(golden.policy));
        const std::string request = read_text(golden.request);
        const std::string expected = without_final_newline(read_text(golden.response));
        CHECK(expected.find('\n') == std::string::npos);

        const json expected_json = json::parse(expected, nullptr, false);
        REQUIRE_FALSE(expected_json.is_discarded());
        check_response_contract(golden, request, expected_json);

        const auto outcome = seccomp_gate::review(snapshot_for(golden.policy), request, golden.endpoint);
        CHECK(outcome.verdict != seccomp_gate::Verdict::kNotJson);
        CHECK(outcome.response == expected);

        const json& answer = expected_json["response"];
        const auto expected_verdict =
            answer["allowed"] == true
                ? seccomp_gate::Verdict::kAllowed
                : (answer["status"].value("code", 0) == 400 ? seccomp_gate::Verdict::kInvalid
                                                            : seccomp_gate::Verdict::kDenied);
        CHECK(to_string(outcome.verdict) == to_string(expected_verdict));
        CHECK(outcome.patched == answer.contains("patch"));
    }
}

}  // namespace

TEST_CASE("golden corpus is complete and well formed") {
    std::size_t pairs = 0;
    for (const std::string directory : {"validate", "mutate"}) {
        for (const auto& entry : fs::directory_iterator(golden_root() / directory)) {
            const std::string file = entry.path().filename().string();
            INFO("golden file: ", directory, "/", file);
            const bool known = file.ends_with(".request.json") || file.ends_with(".response.json") ||
                               file.ends_with(".policy");
            CHECK(known);
            if (file.ends_with(".response.json")) {
                const std::string name = file.substr(0, file.size() - std::string(".response.json").size());
                CHECK(fs::exists(golden_root() / directory / (name + ".request.json")));
            }
        }
        for (const auto& golden : golden_cases(directory)) {
            INFO("golden case: ", golden.label);
            CHECK(fs::exists(golden.response));
            CHECK(fs::exists(golden.policy));
            ++pairs;
        }
    }
    CHECK(pairs >= kMinimumPairs);
}

TEST_CASE("golden validate pairs match byte for byte") { run_pairs("validate"); }

TEST_CASE("golden mutate pairs match byte for byte") { run_pairs("mutate"); }

TEST_CASE("golden mutate patches are RFC 6902, apply to the object and are idempotent") {
    std::size_t patches = 0;
    for (const auto& golden : golden_cases("mutate")) {
        INFO("golden case: ", golden.label);
        const json response = json::parse(read_text(golden.response), nullptr, false);
        REQUIRE_FALSE(response.is_discarded());
        const json& answer = response["response"];
        if (!answer.contains("patch")) continue;
        ++patches;
        REQUIRE(answer["patch"].is_string());
        const auto decoded = base64_decode(answer["patch"].get<std::string>());
        REQUIRE(decoded.has_value());
        const json patch = json::parse(*decoded, nullptr, false);
        REQUIRE_FALSE(patch.is_discarded());
        check_rfc6902(patch);

        const std::string request = read_text(golden.request);
        const json object = json::parse(request)["request"]["object"];
        json patched;
        CHECK_NOTHROW(patched = object.patch(patch));
        CHECK(patched != object);
        // The patch only adds (or fills a field that was null): nothing the object set changes.
        for (const auto& operation : json::diff(object, patched)) {
            const std::string op = operation["op"].get<std::string>();
            if (op == "replace") {
                CHECK(object.at(json::json_pointer(operation["path"].get<std::string>())).is_null());
            } else {
                CHECK(op == "add");
            }
        }

        // SPEC section 7: a second call on its own output returns no patch.
        const auto again = seccomp_gate::review(snapshot_for(golden.policy),
                                                with_object(request, patched), Endpoint::kMutate);
        const json again_json = json::parse(again.response, nullptr, false);
        REQUIRE_FALSE(again_json.is_discarded());
        CHECK(again_json["response"]["allowed"] == true);
        CHECK_FALSE(again_json["response"].contains("patch"));
        CHECK_FALSE(again.patched);
    }
    CHECK(patches >= 5);
}

TEST_CASE("golden mutate requests sent to validate never get a patch") {
    for (const auto& golden : golden_cases("mutate")) {
        INFO("golden case: ", golden.label);
        const auto outcome = seccomp_gate::review(snapshot_for(golden.policy),
                                                  read_text(golden.request), Endpoint::kValidate);
        const json response = json::parse(outcome.response, nullptr, false);
        REQUIRE_FALSE(response.is_discarded());
        CHECK_FALSE(response["response"].contains("patch"));
        CHECK_FALSE(response["response"].contains("patchType"));
        CHECK_FALSE(outcome.patched);
    }
}
