#include "policy/manifests.h"

#include <yaml-cpp/yaml.h>

#include "policy/decode.h"
#include "policy/duplicate_keys.h"
#include "policy/yaml_node.h"

namespace seccomp_gate {
namespace {

struct Chunk {
    std::string text;
    int first_line = 0;  // 0-based line of the chunk's first line in the file
};

bool is_document_marker(std::string_view line) {
    if (!line.starts_with("---") && !line.starts_with("...")) return false;
    return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// Splits at document markers ourselves, so that one broken document does not hide the others
// (yaml-cpp's LoadAll stops at the first error). A "---" line stays with the document it opens.
std::vector<Chunk> split_documents(std::string_view text) {
    std::vector<Chunk> chunks(1);
    int line_number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (is_document_marker(line)) {
            chunks.push_back(Chunk{{}, line_number});
            if (line.starts_with("...")) {  // document end: the next document starts after it
                chunks.back().first_line = line_number + 1;
                ++line_number;
                continue;
            }
        }
        chunks.back().text.append(line);
        chunks.back().text.push_back('\n');
        ++line_number;
    }
    return chunks;
}

// `list_kind` and `list_api_version` come from an enclosing "<Kind>List": the API server's own
// lists (kubectl get --raw) leave kind and apiVersion out of their items.
void add_object(const YamlNode& node, std::size_t document, ManifestSet& set,
                std::string_view list_kind = {}, std::string_view list_api_version = {}) {
    std::string api_version = detail::string_member(node, "apiVersion");
    std::string kind = detail::string_member(node, "kind");
    if (kind.empty() && list_kind.size() > 4) {
        kind = std::string(list_kind.substr(0, list_kind.size() - 4));
        if (api_version.empty()) api_version = std::string(list_api_version);
    }
    if (kind.empty() || api_version.empty()) {
        ++set.skipped;
        return;
    }
    if (kind.ends_with("List")) {
        if (auto items = detail::member(node, "items")) {
            if (!items->is_array()) {
                set.errors.push_back({document, items->line(), kind + ": items must be a list"});
                return;
            }
            items->each_element([&](const YamlNode& item) {
                if (!item.is_object()) {
                    set.errors.push_back(
                        {document, item.line(), kind + ": an item is not an object"});
                    return;
                }
                add_object(item, document, set, kind, api_version);
            });
            return;
        }
    }
    const WorkloadKind* workload = find_workload_kind(api_group(api_version), kind);
    ManifestObject object{decode_object(node, workload), document};
    object.object.kind = kind;
    object.object.api_version = api_version;
    set.objects.push_back(std::move(object));
}

}  // namespace

ManifestSet parse_manifests(std::string_view text) {
    ManifestSet set;
    std::size_t document = 0;
    for (const auto& chunk : split_documents(text)) {
        YAML::Node root;
        try {
            root = YAML::Load(chunk.text);
        } catch (const YAML::Exception& error) {
            ++document;
            const int line = error.mark.line >= 0 ? error.mark.line + 1 + chunk.first_line : 0;
            set.errors.push_back({document, line, "not valid YAML or JSON: " + error.msg});
            continue;
        }
        if (!root.IsDefined() || root.IsNull()) continue;  // empty document
        ++document;
        // kubectl's decoder refuses the document whole; so do we (duplicate_keys.h).
        if (const auto duplicate = find_duplicate_key(root)) {
            set.errors.push_back({document, duplicate->line + chunk.first_line,
                                  "duplicate key " + duplicate->path +
                                      " (Kubernetes would keep the last value; refused)"});
            continue;
        }
        const YamlNode node(root, chunk.first_line);
        if (!node.is_object()) {
            set.errors.push_back({document, node.line(),
                                  "a manifest document must be a mapping (a Kubernetes object)"});
            continue;
        }
        add_object(node, document, set);
    }
    return set;
}

}  // namespace seccomp_gate
