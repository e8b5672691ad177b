#pragma once
// The decode.h Node interface over yaml-cpp, with the source line of every node.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

namespace seccomp_gate {

class YamlNode {
  public:
    // `line_offset` places a document split out of a multi-document file back in its file.
    YamlNode(YAML::Node node, int line_offset)
        : node_(std::move(node)), line_offset_(line_offset) {}

    bool is_object() const { return node_.IsMap(); }
    bool is_array() const { return node_.IsSequence(); }
    bool is_null() const { return !node_.IsDefined() || node_.IsNull(); }

    std::optional<YamlNode> member(std::string_view key) const {
        if (!node_.IsMap()) return std::nullopt;
        // Linear scan: yaml-cpp's operator[] on a const map does the same, without letting us
        // compare a string_view.
        for (const auto& entry : node_) {
            if (entry.first.IsScalar() && entry.first.Scalar() == key) {
                return YamlNode(entry.second, line_offset_);
            }
        }
        return std::nullopt;
    }

    template <class F>
    void each_element(F f) const {
        if (!node_.IsSequence()) return;
        for (const auto& item : node_) f(YamlNode(item, line_offset_));
    }

    template <class F>
    void each_member(F f) const {
        if (!node_.IsMap()) return;
        for (const auto& entry : node_) {
            if (entry.first.IsScalar())
                f(entry.first.Scalar(), YamlNode(entry.second, line_offset_));
        }
    }

    // Scalars read as strings (as the API server would for a quoted value); a plain `true`,
    // a number or null in a string field is still text here, so the field is judged as written.
    std::optional<std::string_view> string() const {
        if (!node_.IsScalar()) return std::nullopt;
        return std::string_view(node_.Scalar());
    }

    std::optional<bool> boolean() const {
        if (!node_.IsScalar()) return std::nullopt;
        const std::string& text = node_.Scalar();
        if (text == "true" || text == "True" || text == "TRUE") return true;
        if (text == "false" || text == "False" || text == "FALSE") return false;
        return std::nullopt;
    }

    std::size_t size() const { return node_.IsMap() || node_.IsSequence() ? node_.size() : 0; }

    int line() const { return node_.Mark().line < 0 ? 0 : node_.Mark().line + 1 + line_offset_; }

    const YAML::Node& node() const { return node_; }

  private:
    YAML::Node node_;
    int line_offset_;
};

}  // namespace seccomp_gate
