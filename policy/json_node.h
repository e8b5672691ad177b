#pragma once
// The decode.h Node interface over a parsed simdjson DOM element.

#include <simdjson.h>

#include <optional>
#include <string_view>

namespace seccomp_gate {

class JsonNode {
  public:
    explicit JsonNode(simdjson::dom::element element) : element_(element) {}

    bool is_object() const { return element_.type() == simdjson::dom::element_type::OBJECT; }
    bool is_array() const { return element_.type() == simdjson::dom::element_type::ARRAY; }
    bool is_null() const { return element_.is_null(); }

    std::optional<JsonNode> member(std::string_view key) const {
        simdjson::dom::element value;
        if (element_[key].get(value) != simdjson::SUCCESS) return std::nullopt;
        return JsonNode(value);
    }

    template <class F>
    void each_element(F f) const {
        simdjson::dom::array array;
        if (element_.get_array().get(array) != simdjson::SUCCESS) return;
        for (simdjson::dom::element value : array) f(JsonNode(value));
    }

    template <class F>
    void each_member(F f) const {
        simdjson::dom::object object;
        if (element_.get_object().get(object) != simdjson::SUCCESS) return;
        for (auto field : object) f(field.key, JsonNode(field.value));
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
    simdjson::dom::element element_;
};

}  // namespace seccomp_gate
