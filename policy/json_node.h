#pragma once
// The decode.h Node interface over a parsed simdjson DOM element.
//
// Duplicate keys: simdjson keeps the first of two equal keys, Kubernetes the last. A node made
// with a DuplicateSink reads every object it looks into to its end and records a key that
// occurs twice there, so that a review whose decision reads a duplicated key is refused
// (duplicate_keys.h names its path) while a duplicate nothing reads costs nothing.

#include <simdjson.h>

#include <optional>
#include <string_view>
#include <vector>

#include "policy/duplicate_keys.h"

namespace seccomp_gate {

class JsonNode {
  public:
    explicit JsonNode(simdjson::dom::element element, DuplicateSink* sink = nullptr)
        : element_(element), sink_(sink) {}

    bool is_object() const { return element_.type() == simdjson::dom::element_type::OBJECT; }
    bool is_array() const { return element_.type() == simdjson::dom::element_type::ARRAY; }
    bool is_null() const { return element_.is_null(); }

    std::optional<JsonNode> member(std::string_view key) const {
        if (sink_ == nullptr) {
            simdjson::dom::element value;
            if (element_[key].get(value) != simdjson::SUCCESS) return std::nullopt;
            return JsonNode(value, sink_);
        }
        simdjson::dom::object object;
        if (element_.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
        std::optional<JsonNode> found;
        for (auto field : object) {
            if (field.key != key) continue;
            if (found) {
                sink_->record(field.key);
                break;
            }
            found = JsonNode(field.value, sink_);
        }
        return found;
    }

    template <class F>
    void each_element(F f) const {
        simdjson::dom::array array;
        if (element_.get_array().get(array) != simdjson::SUCCESS) return;
        for (simdjson::dom::element value : array) f(JsonNode(value, sink_));
    }

    template <class F>
    void each_member(F f) const {
        simdjson::dom::object object;
        if (element_.get_object().get(object) != simdjson::SUCCESS) return;
        if (sink_ != nullptr) record_duplicates(object);
        for (auto field : object) f(field.key, JsonNode(field.value, sink_));
    }

    std::optional<std::string_view> string() const {
        std::string_view text;
        if (element_.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
        return text;
    }

    std::optional<bool> boolean() const {
        bool value = false;
        if (element_.get_bool().get(value) != simdjson::SUCCESS) return std::nullopt;
        return value;
    }

    std::size_t size() const {
        if (simdjson::dom::array array; element_.get_array().get(array) == simdjson::SUCCESS) {
            return array.size();
        }
        if (simdjson::dom::object object; element_.get_object().get(object) == simdjson::SUCCESS) {
            return object.size();
        }
        return 0;
    }

    int line() const { return 0; }

    simdjson::dom::element element() const { return element_; }

  private:
    // Every member is read (annotations): any key that occurs twice.
    void record_duplicates(simdjson::dom::object object) const {
        std::vector<std::string_view> keys;
        keys.reserve(object.size());
        for (auto field : object) keys.push_back(field.key);
        if (const auto repeat = first_repeated(keys)) sink_->record(keys[*repeat]);
    }

    simdjson::dom::element element_;
    DuplicateSink* sink_;
};

}  // namespace seccomp_gate
