#include "policy/catalog.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace seccomp_gate {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 9> kActions{
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::array<std::string_view, 7> kOperators{
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

// Top-level fields of the runtime format, plus Docker's extras that runtimes tolerate.
constexpr std::array<std::string_view, 9> kProfileFields{
    "defaultAction", "defaultErrnoRet", "architectures",    "archMap", "syscalls",
    "flags",         "listenerPath",    "listenerMetadata", "comment"};

constexpr std::array<std::string_view, 8> kSyscallFields{
    "names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"};

constexpr std::array<std::string_view, 4> kArgFields{"index", "value", "valueTwo", "op"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& values, std::string_view value) {
    return std::find(values.begin(), values.end(), value) != values.end();
}

bool is_action(const json& value) {
    return value.is_string() && one_of(kActions, value.get_ref<const std::string&>());
}

// Returns the first problem of a syscalls[] entry, empty when it is valid.
std::string check_syscall(const json& entry, const std::string& where) {
    if (!entry.is_object()) return where + ": must be an object";
    for (const auto& [key, value] : entry.items()) {
        if (!one_of(kSyscallFields, key)) return where + ": unknown field \"" + key + "\"";
    }
    const auto names = entry.find("names");
    const auto name = entry.find("name");
    if (names != entry.end()) {
        if (!names->is_array() || names->empty()) {
            return where + ".names: must be a non-empty list of syscall names";
        }
        for (const auto& item : *names) {
            if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
                return where + ".names: must contain only non-empty strings";
            }
        }
    } else if (name == entry.end() || !name->is_string() ||
               name->get_ref<const std::string&>().empty()) {
        return where + ": needs \"names\"";
    }
    const auto action = entry.find("action");
    if (action == entry.end()) return where + ": needs \"action\"";
    if (!is_action(*action))
        return where + ".action: " + action->dump() + " is not a seccomp action";
    if (const auto errno_ret = entry.find("errnoRet"); errno_ret != entry.end()) {
        if (!errno_ret->is_number_unsigned()) {
            return where + ".errnoRet: must be a non-negative integer";
        }
    }
    if (const auto args = entry.find("args"); args != entry.end() && !args->is_null()) {
        if (!args->is_array()) return where + ".args: must be a list";
        for (std::size_t i = 0; i < args->size(); ++i) {
            const json& arg = (*args)[i];
            const std::string arg_where = where + ".args[" + std::to_string(i) + "]";
            if (!arg.is_object()) return arg_where + ": must be an object";
            for (const auto& [key, value] : arg.items()) {
                if (!one_of(kArgFields, key)) return arg_where + ": unknown field \"" + key + "\"";
            }
            const auto index = arg.find("index");
            if (index == arg.end() || !index->is_number_unsigned() ||
                index->get<std::uint64_t>() > 5) {
                return arg_where + ".index: must be 0 to 5";
            }
            for (const char* field : {"value", "valueTwo"}) {
                const auto value = arg.find(field);
                if (value != arg.end() && !value->is_number_unsigned()) {
                    return arg_where + "." + field + ": must be a non-negative integer";
                }
            }
            const auto op = arg.find("op");
            if (op == arg.end() || !op->is_string() ||
                !one_of(kOperators, op->get_ref<const std::string&>())) {
                return arg_where +
                       ".op: must be one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
                       "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ";
            }
        }
    }
    return {};
}

std::string check_profile_document(const json& profile) {
    if (!profile.is_object()) return "a profile must be a JSON object";
    for (const auto& [key, value] : profile.items()) {
        if (!one_of(kProfileFields, key)) return "unknown field \"" + key + "\"";
    }
    const auto default_action = profile.find("defaultAction");
    if (default_action == profile.end()) return "defaultAction: is required";
    if (!is_action(*default_action)) {
        return "defaultAction: " + default_action->dump() + " is not a seccomp action";
    }
    if (const auto ret = profile.find("defaultErrnoRet"); ret != profile.end()) {
        if (!ret->is_number_unsigned()) return "defaultErrnoRet: must be a non-negative integer";
    }
    for (const char* field : {"architectures", "flags"}) {
        const auto list = profile.find(field);
        if (list == profile.end() || list->is_null()) continue;
        if (!list->is_array()) return std::string(field) + ": must be a list of strings";
        for (const auto& item : *list) {
            if (!item.is_string()) return std::string(field) + ": must be a list of strings";
        }
    }
    for (const char* field : {"listenerPath", "listenerMetadata", "comment"}) {
        const auto value = profile.find(field);
        if (value != profile.end() && !value->is_string()) {
            return std::string(field) + ": must be a string";
        }
    }
    if (const auto arch_map = profile.find("archMap");
        arch_map != profile.end() && !arch_map->is_null() && !arch_map->is_array()) {
        return "archMap: must be a list";
    }
    if (const auto syscalls = profile.find("syscalls");
        syscalls != profile.end() && !syscalls->is_null()) {
        if (!syscalls->is_array()) return "syscalls: must be a list";
        for (std::size_t i = 0; i < syscalls->size(); ++i) {
            std::string problem =
                check_syscall((*syscalls)[i], "syscalls[" + std::to_string(i) + "]");
            if (!problem.empty()) return problem;
        }
    }
    return {};
}

}  // namespace

ProfileCheck check_profile(std::string_view json_text) {
    ProfileCheck result;
    const json profile = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (profile.is_discarded()) {
        result.error = "not valid JSON";
        return result;
    }
    result.error = check_profile_document(profile);
    if (result.error.empty()) {
        result.default_action = profile["defaultAction"].get<std::string>();
        result.permissive =
            result.default_action == "SCMP_ACT_ALLOW" || result.default_action == "SCMP_ACT_LOG";
    }
    return result;
}

std::optional<std::string> clean_profile_path(std::string_view path) {
    if (path.empty() || path.front() == '/') return std::nullopt;
    std::string cleaned;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const std::string_view segment = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (segment.empty() || segment == ".") continue;
        if (segment == "..") return std::nullopt;
        if (!cleaned.empty()) cleaned += '/';
        cleaned += segment;
    }
    if (cleaned.empty()) return std::nullopt;
    return cleaned;
}

const CatalogProfile* CatalogSnapshot::find(std::string_view name) const {
    const auto found = profiles_.find(name);
    return found == profiles_.end() ? nullptr : &found->second;
}

CatalogSnapshot build_catalog(std::string_view prefix, const std::vector<CatalogFile>& files) {
    CatalogSnapshot catalog;
    for (const auto& file : files) {
        const std::string joined =
            prefix.empty() ? file.relative_path : std::string(prefix) + "/" + file.relative_path;
        const auto name = clean_profile_path(joined);
        if (!name) {
            catalog.rejected_.push_back({file.relative_path, "not a usable profile path"});
            continue;
        }
        if (!file.read_error.empty()) {
            catalog.rejected_.push_back({file.relative_path, file.read_error});
            continue;
        }
        ProfileCheck check = check_profile(file.content);
        if (!check.error.empty()) {
            catalog.rejected_.push_back({file.relative_path, std::move(check.error)});
            continue;
        }
        catalog.profiles_[*name] =
            CatalogProfile{*name, std::move(check.default_action), check.permissive};
    }
    return catalog;
}

}  // namespace seccomp_gate
