#include "policy/duplicate_keys.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "policy/text.h"

namespace seccomp_gate {
namespace {

// Objects up to this many members are checked by comparing each key with the ones before it
// (no allocation); larger ones by sorting a copy of their keys.
constexpr std::size_t kSmallObject = 16;

// Field-path segments, innermost first, collected on the way back from a duplicate.
using ReversedPath = std::vector<std::string>;

std::string key_segment(std::string_view key) { return "." + shown(key); }

std::string join(const ReversedPath& segments) {
    std::string path;
    for (auto it = segments.rbegin(); it != segments.rend(); ++it) path += *it;
    if (path.starts_with(".")) path.erase(0, 1);
    return path;
}

// The index of the first key of `keys` (document order) that repeats an earlier one, if any.
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

bool find_json(simdjson::dom::element element, ReversedPath& path) {
    using simdjson::dom::element_type;
    if (element.type() == element_type::ARRAY) {
        simdjson::dom::array array;
        if (element.get_array().get(array) != simdjson::SUCCESS) return false;
        std::size_t index = 0;
        for (simdjson::dom::element item : array) {
            if (find_json(item, path)) {
                path.push_back("[" + std::to_string(index) + "]");
                return true;
            }
            ++index;
        }
        return false;
    }
    if (element.type() != element_type::OBJECT) return false;
    simdjson::dom::object object;
    if (element.get_object().get(object) != simdjson::SUCCESS) return false;
    const std::size_t size = object.size();
    if (size <= kSmallObject) {
        std::array<std::string_view, kSmallObject> keys{};
        std::size_t count = 0;
        for (auto field : object) {
            if (std::find(keys.begin(), keys.begin() + count, field.key) != keys.begin() + count) {
                path.push_back(key_segment(field.key));
                return true;
            }
            keys[count++] = field.key;
        }
    } else {
        std::vector<std::string_view> keys;
        keys.reserve(size);
        for (auto field : object) keys.push_back(field.key);
        if (auto repeat = first_repeated(keys)) {
            path.push_back(key_segment(keys[*repeat]));
            return true;
        }
    }
    for (auto field : object) {
        if (find_json(field.value, path)) {
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

std::optional<DuplicateKey> find_duplicate_key(simdjson::dom::element root) {
    ReversedPath path;
    if (!find_json(root, path)) return std::nullopt;
    return DuplicateKey{join(path), 0};
}

std::optional<DuplicateKey> find_duplicate_key(const YAML::Node& root) {
    ReversedPath path;
    int line = 0;
    if (!find_yaml(root, path, line)) return std::nullopt;
    return DuplicateKey{join(path), line};
}

}  // namespace seccomp_gate
