#include "policy/catalog.h"

#include <cstddef>
#include <string>

#include "profile/lint.h"

namespace seccomp_gate {
namespace {

// A rejection names every error up to this many; `seccomp-gate profile lint` lists them all.
constexpr std::size_t kErrorsInReason = 3;

}  // namespace

// Profile validity has one definition, the linter's: any lint error keeps a file out of the
// catalog, with the errors as the reason (the reloader logs it and counts it in /metrics).
ProfileCheck check_profile(std::string_view json_text) {
    ProfileCheck result;
    const profile::LintReport report = profile::lint_profile(json_text);
    std::size_t errors = 0;
    for (const auto& finding : report.findings) {
        if (finding.severity != profile::Severity::kError) continue;
        if (++errors > kErrorsInReason) continue;
        if (!result.error.empty()) result.error += "; ";
        result.error += finding.text() + " [" + finding.check + "]";
    }
    if (errors > kErrorsInReason) {
        result.error += "; and " + std::to_string(errors - kErrorsInReason) + " more errors";
    }
    if (errors == 0 && report.profile) {
        result.default_action = report.profile->default_action;
        result.permissive = profile::is_permissive_default(result.default_action);
    } else if (errors == 0) {
        result.error = "the profile could not be checked";  // a report without a profile has errors
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

LocalhostResolution resolve_localhost(const CatalogSnapshot& catalog,
                                      const std::optional<std::string>& localhost_profile) {
    using Status = LocalhostResolution::Status;
    LocalhostResolution result;
    if (!localhost_profile || localhost_profile->empty()) return result;
    const std::string& wanted = *localhost_profile;
    if (wanted.front() == '/') {
        result.status = Status::kAbsolute;
        return result;
    }
    auto name = clean_profile_path(wanted);
    if (!name) {
        const bool escapes = ("/" + wanted + "/").find("/../") != std::string::npos;
        result.status = escapes ? Status::kEscapes : Status::kNotAFile;
        return result;
    }
    result.name = std::move(*name);
    result.profile = catalog.find(result.name);
    result.status = result.profile != nullptr ? Status::kFound : Status::kNotInCatalog;
    return result;
}

const CatalogProfile* CatalogSnapshot::find(std::string_view name) const {
    const auto found = profiles_.find(name);
    return found == profiles_.end() ? nullptr : &found->second;
}

CatalogSnapshot build_catalog(std::string_view prefix, const std::vector<CatalogFile>& files,
                              const ProfileChecker& check_file) {
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
        ProfileCheck check = check_file(file.content);
        if (!check.error.empty()) {
            catalog.rejected_.push_back({file.relative_path, std::move(check.error)});
            continue;
        }
        catalog.profiles_[*name] =
            CatalogProfile{*name, std::move(check.default_action), check.permissive};
    }
    return catalog;
}

std::vector<std::string> keep_last_good(CatalogSnapshot& fresh, const CatalogSnapshot& previous,
                                        std::string_view prefix) {
    std::vector<std::string> kept;
    for (const CatalogRejection& rejection : fresh.rejected_) {
        const std::string joined =
            prefix.empty() ? rejection.file : std::string(prefix) + "/" + rejection.file;
        const auto name = clean_profile_path(joined);
        if (!name || fresh.profiles_.contains(*name)) continue;
        const CatalogProfile* last_good = previous.find(*name);
        if (last_good == nullptr) continue;
        fresh.profiles_.emplace(*name, *last_good);
        kept.push_back(*name);
    }
    return kept;
}

}  // namespace seccomp_gate
