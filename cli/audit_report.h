#pragma once
// What `audit` found, and its three renderings: text, JSON and SARIF 2.1.0.

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/finding.h"
#include "policy/policy_config.h"

namespace seccomp_gate::cli {

struct AuditFinding {
    std::string file;
    std::size_t document = 0;
    std::string object;  // Kind/namespace/name
    std::string kind;
    std::string ns;
    std::string name;
    Mode mode = Mode::kEnforce;
    Finding finding;
};

struct AuditError {
    std::string file;
    std::size_t document = 0;  // 0 when the whole file failed
    int line = 0;
    std::string message;
};

struct AuditReport {
    std::size_t files = 0;
    std::size_t objects = 0;  // objects of the judged kinds
    std::size_t exempt = 0;
    std::vector<AuditFinding> findings;
    std::vector<AuditError> errors;

    std::size_t count(Severity severity) const;
};

// Orders findings and errors by file, then line; equal positions keep the order they were found
// in (document order). The writers print in the report's order.
void sort_by_position(AuditReport& report);

// The text writer interleaves findings and errors by position (a finding first on the same line).
void write_text(const AuditReport& report, std::ostream& out);
void write_json(const AuditReport& report, std::ostream& out);
void write_sarif(const AuditReport& report, std::ostream& out);
std::string summary_line(const AuditReport& report);

// A file name as a SARIF artifactLocation.uri (RFC 3986): a relative path stays a relative
// reference and an absolute one becomes a file: URI, with every byte outside the unreserved and
// sub-delimiter characters, `@` and `/` percent-encoded (so spaces, `#`, `%`, `?`, `:` and
// non-ASCII bytes).
std::string file_uri(std::string_view file);

}  // namespace seccomp_gate::cli
