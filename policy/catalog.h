#pragma once
// The profile catalog of SPEC section 4: the Localhost profiles every node holds.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate {

struct CatalogProfile {
    std::string name;            // the localhostProfile value that selects it
    std::string default_action;  // e.g. SCMP_ACT_ERRNO
    bool permissive = false;     // defaultAction ALLOW or LOG: the filter blocks nothing
};

// A profile file read for the catalog: its path relative to the catalog directory.
struct CatalogFile {
    std::string relative_path;
    std::string content;
    std::string read_error;  // set when the file could not be read (too large, ...)
};

struct CatalogRejection {
    std::string file;
    std::string reason;
};

// The checks a profile must pass to enter the catalog: no error from the profile linter
// (profile/lint.h). `error` is empty when it passes, else it names the errors' fields.
struct ProfileCheck {
    std::string error;
    std::string default_action;
    bool permissive = false;
};
ProfileCheck check_profile(std::string_view json_text);

// How build_catalog checks a file: check_profile, or a cache in front of it (sync-profiles).
using ProfileChecker = std::function<ProfileCheck(std::string_view json_text)>;

class CatalogSnapshot {
  public:
    // `name` must already be cleaned (clean_profile_path).
    const CatalogProfile* find(std::string_view name) const;
    const std::map<std::string, CatalogProfile, std::less<>>& profiles() const { return profiles_; }
    const std::vector<CatalogRejection>& rejected() const { return rejected_; }

    friend CatalogSnapshot build_catalog(std::string_view prefix,
                                         const std::vector<CatalogFile>& files,
                                         const ProfileChecker& check);
    friend std::vector<std::string> keep_last_good(CatalogSnapshot& fresh,
                                                   const CatalogSnapshot& previous,
                                                   std::string_view prefix);

  private:
    std::map<std::string, CatalogProfile, std::less<>> profiles_;
    std::vector<CatalogRejection> rejected_;
};

// Lexical clean-up of a localhostProfile or catalog path: drops "." and empty segments.
// nullopt for an absolute path, a path with a ".." segment, or an empty one.
std::optional<std::string> clean_profile_path(std::string_view path);

// How a Localhost setting's localhostProfile resolves against the catalog (SPEC rule 4): the one
// place that decides it, for the rules and for a policy's defaultProfile.
struct LocalhostResolution {
    enum class Status { kMissing, kAbsolute, kEscapes, kNotAFile, kNotInCatalog, kFound };
    Status status = Status::kMissing;
    std::string name;                         // the cleaned path (kNotInCatalog, kFound)
    const CatalogProfile* profile = nullptr;  // kFound
};
LocalhostResolution resolve_localhost(const CatalogSnapshot& catalog,
                                      const std::optional<std::string>& localhost_profile);

// Builds the catalog: each file that passes `check` becomes the profile
// "<prefix>/<relative_path>"; the others are listed in rejected() with the reason.
CatalogSnapshot build_catalog(std::string_view prefix, const std::vector<CatalogFile>& files,
                              const ProfileChecker& check = check_profile);

// On reload: a profile of `previous` whose file `fresh` rejected (no longer a valid profile,
// too large, unreadable) stays in `fresh` as its last good version, as a node keeps its last
// good copy; the rejection stays listed. A file that is gone takes its profile with it.
// Returns the names of the profiles kept that way.
std::vector<std::string> keep_last_good(CatalogSnapshot& fresh, const CatalogSnapshot& previous,
                                        std::string_view prefix);

}  // namespace seccomp_gate
