#include "cli/audit_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace seccomp_gate::cli {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kInvalidInputRule = "invalid-input";

const char* severity_name(Severity severity) {
    return severity == Severity::kViolation ? "violation" : "warning";
}

std::string error_location(const AuditError& error) {
    std::string where = error.file;
    if (error.line > 0) where += ":" + std::to_string(error.line);
    where += ": ";
    if (error.document > 0) where += "document " + std::to_string(error.document) + ": ";
    return where;
}

}  // namespace

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
    for (const auto& item : report.findings) {
        out << item.file << ":" << item.finding.line << ": " << item.object << ": "
            << item.finding.path << ": "
            << (item.finding.severity == Severity::kWarning ? "warning: " : "")
            << item.finding.message << "\n";
    }
    for (const auto& error : report.errors) {
        out << error_location(error) << "error: " << error.message << "\n";
    }
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
                                      {{"artifactLocation", {{"uri", file}}},
                                       {"region", {{"startLine", std::max(line, 1)}}}}}}});
    };

    ordered_json results = ordered_json::array();
    for (const auto& item : report.findings) {
        results.push_back(
            {{"ruleId", item.finding.rule},
             {"ruleIndex", rule_index(item.finding.rule)},
             {"level", item.finding.severity == Severity::kViolation ? "error" : "warning"},
             {"message", {{"text", item.object + ": " + item.finding.text()}}},
             {"locations", location(item.file, item.finding.line)}});
    }
    for (const auto& error : report.errors) {
        results.push_back({{"ruleId", kInvalidInputRule},
                           {"ruleIndex", rule_index(kInvalidInputRule)},
                           {"level", "error"},
                           {"message", {{"text", error.message}}},
                           {"locations", location(error.file, error.line)}});
    }
    const ordered_json sarif{
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs",
         ordered_json::array(
             {{{"tool", {{"driver", {{"name", "seccomp-gate"}, {"rules", std::move(rules)}}}}},
               {"results", std::move(results)}}})}};
    out << sarif.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace seccomp_gate::cli
