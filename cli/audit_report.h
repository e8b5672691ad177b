#pragma once
// What `audit` found, and its three renderings: text, JSON and SARIF 2.1.0.

#include <cstddef>
#include <ostream>
#include <string>
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

void write_text(const AuditReport& report, std::ostream& out);
void write_json(const AuditReport& report, std::ostream& out);
void write_sarif(const AuditReport& report, std::ostream& out);
std::string summary_line(const AuditReport& report);

}  // namespace seccomp_gate::cli
