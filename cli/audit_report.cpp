#include "cli/audit_report.h"

#include <algorithm>
#include <compare>
#include <nlohmann/json.hpp>

// The project version (CMakeLists.txt's project()), for SARIF's tool.driver.version.
#ifndef SECCOMP_GATE_VERSION
#error "SECCOMP_GATE_VERSION must be defined by the build"
#endif

namespace seccomp_gate::cli {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kInvalidInputRule = "invalid-input";

const char* severity_name(Severity severity) {
    return severity == Severity::kViolation ? "violation" : "warning";
}

// Where a finding or an error is: what the report is sorted by.
struct Position {
    std::string_view file;
    int line = 0;

    auto operator<=>(const Position&) const = default;
};

Position position(const AuditFinding& item) { return {item.file, item.finding.line}; }
Position position(const AuditError& error) { return {error.file, error.line}; }

// Calls on_finding and on_error for every finding and error of a sorted report, interleaved by
// position; on the same line the finding comes first.
template <typename OnFinding, typename OnError>
void for_each_by_position(const AuditReport& report, OnFinding on_finding, OnError on_error) {
    auto finding = report.findings.begin();
    auto error = report.errors.begin();
    while (finding != report.findings.end() || error != report.errors.end()) {
        if (error == report.errors.end() ||
            (finding != report.findings.end() && !(position(*error) < position(*finding)))) {
            on_finding(*finding++);
        } else {
            on_error(*error++);
        }
    }
}

// RFC 3986 unreserved characters, sub-delimiters and `@`: what a path segment may hold as it is.
// `:` is left out (in a relative reference's first segment it would read as a scheme).
bool is_path_character(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-._~!$&'()*+,;=@").find(static_cast<char>(c)) !=
           std::string_view::npos;
}

std::string error_location(const AuditError& error) {
    std::string where = error.file;
    if (error.line > 0) where += ":" + std::to_string(error.line);
    where += ": ";
    if (error.document > 0) where += "document " + std::to_string(error.document) + ": ";
    return where;
}

}  // namespace

std::string file_uri(std::string_view file) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string uri = file.starts_with('/') ? "file://" : "";
    for (const char c : file) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '/' || is_path_character(byte)) {
            uri += c;
        } else {
            uri += '%';
            uri += kHex[byte >> 4U];
            uri += kHex[byte & 0xFU];
        }
    }
    return uri;
}

void sort_by_position(AuditReport& report) {
    std::stable_sort(
        report.findings.begin(), report.findings.end(),
        [](const AuditFinding& a, const AuditFinding& b) { return position(a) < position(b); });
    std::stable_sort(
        report.errors.begin(), report.errors.end(),
        [](const AuditError& a, const AuditError& b) { return position(a) < position(b); });
}

std::size_t AuditReport::count(Severity severity) const {
    return static_cast<std::size_t>(
        std::count_if(findings.begin(), findings.end(),
                      [&](const AuditFinding& f) { return f.finding.severity == severity; }));
}

std::string summary_line(const AuditReport& report) {
    return "audited " + std::to_string(report.objects) + " objects in " +
           std::to_string(report.files) +
           " files: " + std::to_string(report.count(Severity::kViolation)) + " violations, " +
           std::to_string(report.count(Severity::kWarning)) + " warnings, " +
           std::to_string(report.errors.size()) + " errors";
}

void write_text(const AuditReport& report, std::ostream& out) {
    for_each_by_position(
        report,
        [&](const AuditFinding& item) {
            out << item.file << ":" << item.finding.line << ": " << item.object << ": "
                << item.finding.path << ": "
                << (item.finding.severity == Severity::kWarning ? "warning: " : "")
                << item.finding.message << "\n";
        },
        [&](const AuditError& error) {
            out << error_location(error) << "error: " << error.message << "\n";
        });
}

void write_json(const AuditReport& report, std::ostream& out) {
    ordered_json findings = ordered_json::array();
    for (const auto& item : report.findings) {
        findings.push_back({{"file", item.file},
                            {"line", item.finding.line},
                            {"document", item.document},
                            {"kind", item.kind},
                            {"namespace", item.ns},
                            {"name", item.name},
                            {"rule", item.finding.rule},
                            {"severity", severity_name(item.finding.severity)},
                            {"field", item.finding.path},
                            {"container", item.finding.container},
                            {"message", item.finding.message},
                            {"mode", to_string(item.mode)}});
    }
    ordered_json errors = ordered_json::array();
    for (const auto& error : report.errors) {
        errors.push_back({{"file", error.file},
                          {"document", error.document},
                          {"line", error.line},
                          {"message", error.message}});
    }
    const ordered_json document{{"summary",
                                 {{"files", report.files},
                                  {"objects", report.objects},
                                  {"exempt", report.exempt},
                                  {"violations", report.count(Severity::kViolation)},
                                  {"warnings", report.count(Severity::kWarning)},
                                  {"errors", report.errors.size()}}},
                                {"findings", std::move(findings)},
                                {"errors", std::move(errors)}};
    out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void write_sarif(const AuditReport& report, std::ostream& out) {
    ordered_json rules = ordered_json::array();
    std::vector<std::string_view> rule_ids;
    for (const auto& rule : rule_catalog()) {
        rule_ids.push_back(rule.id);
        rules.push_back({{"id", rule.id}, {"shortDescription", {{"text", rule.summary}}}});
    }
    rule_ids.push_back(kInvalidInputRule);
    rules.push_back({{"id", kInvalidInputRule},
                     {"shortDescription", {{"text", "a manifest that cannot be read"}}}});
    const auto rule_index = [&](std::string_view id) {
        return static_cast<std::size_t>(std::find(rule_ids.begin(), rule_ids.end(), id) -
                                        rule_ids.begin());
    };
    const auto location = [](const std::string& file, int line) {
        return ordered_json::array({{{"physicalLocation",
                                      {{"artifactLocation", {{"uri", file_uri(file)}}},
                                       {"region", {{"startLine", std::max(line, 1)}}}}}}});
    };

    ordered_json results = ordered_json::array();
    for_each_by_position(
        report,
        [&](const AuditFinding& item) {
            results.push_back(
                {{"ruleId", item.finding.rule},
                 {"ruleIndex", rule_index(item.finding.rule)},
                 {"level", item.finding.severity == Severity::kViolation ? "error" : "warning"},
                 {"message", {{"text", item.object + ": " + item.finding.text()}}},
                 {"locations", location(item.file, item.finding.line)}});
        },
        [&](const AuditError& error) {
            results.push_back({{"ruleId", kInvalidInputRule},
                               {"ruleIndex", rule_index(kInvalidInputRule)},
                               {"level", "error"},
                               {"message", {{"text", error.message}}},
                               {"locations", location(error.file, error.line)}});
        });
    ordered_json driver{
        {"name", "seccomp-gate"}, {"version", SECCOMP_GATE_VERSION}, {"rules", std::move(rules)}};
    ordered_json run{{"tool", {{"driver", std::move(driver)}}}, {"results", std::move(results)}};
    const ordered_json sarif{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                             {"version", "2.1.0"},
                             {"runs", ordered_json::array({std::move(run)})}};
    out << sarif.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace seccomp_gate::cli
