// `seccomp-gate audit --policy FILE [--output text|json|sarif] PATH...`: the dry-run audit.

#include <iostream>
#include <iterator>

#include "cli/args.h"
#include "cli/audit_report.h"
#include "cli/commands.h"
#include "cli/load.h"
#include "policy/evaluate.h"
#include "policy/io/files.h"
#include "policy/manifests.h"

namespace seccomp_gate::cli {
namespace {

constexpr const char* kHelp =
    R"(usage: seccomp-gate audit --policy FILE [--output text|json|sarif] PATH...

Dry-run policy audit: judges every Pod and workload pod template in the manifests, as the
webhook would on CREATE, and reports each finding with its file, line, object and field.
PATH is a file, a directory (every .yaml, .yml and .json file under it) or - for stdin.
Multi-document YAML, JSON, `kind: List` and `kubectl get -o json|yaml` output are read, so
  kubectl get pods,deploy,sts,ds,rs,job,cronjob -A -o json | seccomp-gate audit --policy p.yaml -
audits a live cluster. Violations count whatever the policy's mode is (that is what an audit is
for); exempt namespaces are skipped.

options:
  --policy FILE                 the policy file (its catalog is read relative to it)
  --output text|json|sarif      text: one line per finding (default); json; SARIF 2.1.0

exit: 0 no violations, 1 violations, 2 bad input (a file that cannot be read) or usage
)";

void audit_text(const Snapshot& snapshot, const std::string& file, std::string_view text,
                AuditReport& report) {
    ++report.files;
    const ManifestSet set = parse_manifests(text);
    for (const auto& error : set.errors) {
        report.errors.push_back({file, error.document, error.line, error.message});
    }
    for (const auto& item : set.objects) {
        const Object& object = item.object;
        if (!object.has_pod_specs) continue;
        ++report.objects;
        if (snapshot.policy.is_exempt(object.ns, "")) {
            ++report.exempt;
            continue;
        }
        const Judgement judgement = judge(snapshot, object, object.ns);
        for (const auto& finding : judgement.findings) {
            report.findings.push_back({file, item.document, object_ref(object), object.kind,
                                       object.ns, object.name, judgement.mode, finding});
        }
    }
}

}  // namespace

int audit_command(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"policy", "output"}, {});
    if (args.help) {
        std::cout << kHelp;
        return kExitOk;
    }
    const std::string output = args.value("output").value_or("text");
    if (output != "text" && output != "json" && output != "sarif") {
        throw UsageError("--output must be text, json or sarif");
    }
    if (args.positionals.empty()) throw UsageError("needs at least one PATH (or - for stdin)");
    const SnapshotPtr snapshot = load_policy("audit", args.required("policy"));

    AuditReport report;
    for (const auto& path : args.positionals) {
        if (path == "-") {
            const std::string text(std::istreambuf_iterator<char>(std::cin), {});
            audit_text(*snapshot, "<stdin>", text, report);
            continue;
        }
        std::error_code error;
        if (!std::filesystem::exists(path, error)) {
            report.errors.push_back({path, 0, 0, "no such file or directory"});
            continue;
        }
        for (const auto& file : io::manifest_files(path)) {
            try {
                audit_text(*snapshot, file.string(), io::read_file(file), report);
            } catch (const ConfigError& read_error) {
                report.errors.push_back({file.string(), 0, 0, read_error.what()});
            }
        }
    }

    // Directories are read in name order, but PATH arguments in the order given and findings in
    // rule order: a report reads (and diffs) best by position.
    sort_by_position(report);
    if (output == "json") {
        write_json(report, std::cout);
    } else if (output == "sarif") {
        write_sarif(report, std::cout);
    } else {
        write_text(report, std::cout);
    }
    std::cerr << summary_line(report) << "\n";
    if (!report.errors.empty()) return kExitBadInput;
    return report.count(Severity::kViolation) > 0 ? kExitFindings : kExitOk;
}

}  // namespace seccomp_gate::cli
