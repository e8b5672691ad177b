#include "policy/duplicate_keys.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "policy/text.h"

namespace seccomp_gate {
namespace {

// Field-path segments, innermost first, collected on the way back from a duplicate.
using ReversedPath = std::vector<std::string>;

std::string key_segment(std::string_view key) { return "." + shown(key); }

std::string join(const ReversedPath& segments) {
    std::string path;
    for (auto it = segments.rbegin(); it != segments.rend(); ++it) path += *it;
    if (path.starts_with(".")) path.erase(0, 1);
    return path;
}

// Finds the key whose text starts at `occurrence` (a pointer into the parser's string buffer,
// unique to one key) and collects the path to it.
bool find_occurrence(simdjson::dom::element element, const char* occurrence, ReversedPath& path) {
    if (simdjson::dom::array array; element.get_array().get(array) == simdjson::SUCCESS) {
        std::size_t index = 0;
        for (simdjson::dom::element item : array) {
            if (find_occurrence(item, occurrence, path)) {
                path.push_back("[" + std::to_string(index) + "]");
                return true;
            }
            ++index;
        }
        return false;
    }
    simdjson::dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS) return false;
    for (auto field : object) {
        if (field.key.data() == occurrence || find_occurrence(field.value, occurrence, path)) {
            path.push_back(key_segment(field.key));
            return true;
        }
    }
    return false;
}

bool find_yaml(const YAML::Node& node, ReversedPath& path, int& line) {
    if (node.IsSequence()) {
        std::size_t index = 0;
        for (const auto& item : node) {
            if (find_yaml(item, path, line)) {
                path.push_back("[" + std::to_string(index) + "]");
                return true;
            }
            ++index;
        }
        return false;
    }
    if (!node.IsMap()) return false;
    // Non-scalar keys (`? [a, b]`) are not Kubernetes fields: they hold no place here.
    std::vector<std::string_view> keys;
    std::vector<int> lines;
    keys.reserve(node.size());
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) continue;
        keys.push_back(entry.first.Scalar());
        lines.push_back(entry.first.Mark().line + 1);
    }
    if (auto repeat = first_repeated(keys)) {
        path.push_back(key_segment(keys[*repeat]));
        line = lines[*repeat];
        return true;
    }
    for (const auto& entry : node) {
        if (find_yaml(entry.second, path, line)) {
            path.push_back(entry.first.IsScalar() ? key_segment(entry.first.Scalar()) : ".?");
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<std::size_t> first_repeated(const std::vector<std::string_view>& keys) {
    std::vector<std::pair<std::string_view, std::size_t>> sorted;
    sorted.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) sorted.emplace_back(keys[i], i);
    std::sort(sorted.begin(), sorted.end());
    std::optional<std::size_t> first;
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        // Within equal keys the indexes ascend: the second of a run is its first repetition.
        const bool second_of_run = sorted[i].first == sorted[i - 1].first &&
                                   (i < 2 || sorted[i - 2].first != sorted[i].first);
        if (second_of_run && (!first || sorted[i].second < *first)) first = sorted[i].second;
    }
    return first;
}

std::string path_of_key(simdjson::dom::element root, const char* occurrence) {
    ReversedPath path;
    if (!find_occurrence(root, occurrence, path)) return "?";
    return join(path);
}

std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root) {
    ReversedPath path;
    int line = 0;
    if (!find_yaml(root, path, line)) return std::nullopt;
    return DuplicateKey{join(path), line};
}

}  // namespace seccomp_gate
