// The profile linter and the filter builder: each check on a corpus file and on inline cases,
// asserting check id, field and message; the filter a runtime would build, down to loading it.

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "policy/io/files.h"
#include "profile/filter.h"
#include "profile/lint.h"
#include "test_support.h"

namespace seccomp_gate::profile {
namespace {

namespace fs = std::filesystem;
using testing::source_path;

std::string read_profile(const std::string& relative) {
    return io::read_file(source_path(relative));
}

// The file names (without directory) of the .json files in a source directory.
std::set<std::string> json_files(const std::string& relative) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(source_path(relative))) {
        if (entry.path().extension() == ".json") names.insert(entry.path().filename().string());
    }
    return names;
}

std::vector<const LintFinding*> of_severity(const LintReport& report, Severity severity) {
    std::vector<const LintFinding*> found;
    for (const auto& finding : report.findings) {
        if (finding.severity == severity) found.push_back(&finding);
    }
    return found;
}

// "check field" for each finding of a severity, in order: compact to compare.
std::vector<std::string> summary(const LintReport& report, Severity severity) {
    std::vector<std::string> lines;
    for (const auto* finding : of_severity(report, severity)) {
        lines.push_back(finding->check + " " + finding->field);
    }
    return lines;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// An allow-list that is clean: the base the inline cases change one thing in.
constexpr const char* kCleanHead =
    R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_AARCH64"],)"
    R"("syscalls":[{"names":["exit","exit_group","rt_sigreturn","read"],"action":"SCMP_ACT_ALLOW"})";

// The clean profile with `rules` appended to syscalls[] (so they are syscalls[1], ...).
std::string with_rules(const std::string& rules) {
    return std::string(kCleanHead) + (rules.empty() ? "" : "," + rules) + "]}";
}

struct Expected {
    std::string check;
    std::string field;
    std::string message;  // a part of the message
};

// test/profiles/bad/: one file per defect class, each with exactly one error.
const std::vector<std::pair<std::string, Expected>> kBadCorpus{
    {"not-json.json", {"json", "", "not valid JSON: line 5, column 3: syntax error"}},
    {"schema-unknown-field.json",
     {"schema", "defaultErrno", R"(unknown field "defaultErrno" (not in the runtime format))"}},
    {"schema-wrong-type.json",
     {"schema", "defaultErrnoRet", R"(must be an errno number from 0 to 4095, not "EPERM")"}},
    {"schema-missing-default-action.json", {"schema", "defaultAction", "is required"}},
    {"schema-errno-range.json",
     {"schema", "syscalls[1].errnoRet", "must be an errno number from 0 to 4095, not 70000"}},
    {"unknown-action.json",
     {"unknown-action", "syscalls[1].action", R"("SCMP_ACT_DENY" is not a seccomp action)"}},
    {"unknown-architecture.json",
     {"unknown-architecture", "architectures[1]", R"("SCMP_ARCH_AMD64" is not an architecture)"}},
    {"unknown-flag.json",
     {"unknown-flag", "flags[1]",
      R"("SECCOMP_FILTER_FLAG_NEW_LISTENER" is not a flag runc supports)"}},
    {"errno-ret.json",
     {"errno-ret", "syscalls[1].errnoRet",
      "1 goes with action SCMP_ACT_KILL_PROCESS, which returns no errno"}},
    {"notify-default.json",
     {"notify", "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action"}},
    {"notify-without-listener.json",
     {"notify", "syscalls[1].action", R"(SCMP_ACT_NOTIFY needs "listenerPath")"}},
    {"arg-index.json", {"arg-index", "syscalls[1].args[0].index", "6 is not an argument index"}},
    {"arg-op.json", {"arg-op", "syscalls[1].args[0].op", R"("SCMP_CMP_EQUAL" is not an operator)"}},
    {"empty-names.json",
     {"empty-names", "syscalls[1].names", "is empty: the rule applies to no system call"}},
    {"schema-duplicate-key.json",
     {"schema", "defaultAction",
      "is given twice in one object: JSON parsers disagree on which one counts"}},
    {"unknown-syscall.json",
     {"unknown-syscall", "syscalls[0].names[4]",
      R"("wirte" is not a system call on any architecture (libseccomp 2.)"}},
    {"contradictory-rules.json",
     {"contradictory-rules", "syscalls[2].names[0]",
      R"("openat" is SCMP_ACT_ERRNO (errnoRet 13) here but SCMP_ACT_ALLOW in syscalls[1].names[0])"}},
    {"compile.json",
     {"compile", "syscalls[2].names[0]",
      R"(no filter for SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64: libseccomp refused the rule for "ioctl" (an earlier rule has the same conditions and another action))"}},
    {"compile-byte-order.json",
     {"compile", "architectures[2]",
      "SCMP_ARCH_S390X is big-endian and SCMP_ARCH_X86_64 is little-endian: a seccomp filter "
      "has one byte order, so libseccomp cannot build one with both and runc fails on every "
      "node"}},
    {"compile-too-long.json",
     {"compile", "syscalls",
      "SCMP_ARCH_MIPSEL, SCMP_ARCH_RISCV64 is 4447 BPF instructions long; the kernel loads at "
      "most 4096, so runc fails to start the container"}},
    {"too-large.json",
     {"too-large", "syscalls",
      "has 516 argument conditions (a rule's conditions count once per name) for 2 "
      "architectures: 1032 to compile, more than the 1024 the linter builds a filter for"}},
};

TEST_CASE("lint corpus: every bad profile has exactly its one error") {
    for (const auto& [file, expected] : kBadCorpus) {
        CAPTURE(file);
        const LintReport report = lint_profile(read_profile("test/profiles/bad/" + file));
        CHECK(report.has_errors());
        const auto errors = of_severity(report, Severity::kError);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0]->check == expected.check);
        CHECK(errors[0]->field == expected.field);
        CAPTURE(errors[0]->message);
        CHECK(contains(errors[0]->message, expected.message));
    }
}

TEST_CASE("lint corpus: every file in test/profiles/bad is in the table, and every check id") {
    std::set<std::string> listed;
    std::set<std::string> checks;
    for (const auto& [file, expected] : kBadCorpus) {
        listed.insert(file);
        checks.insert(expected.check);
    }
    CHECK(json_files("test/profiles/bad") == listed);
    // Every error check has a corpus file, except the one no file can trigger.
    for (const auto& check : lint_checks()) {
        if (check.severity != Severity::kError || check.id == "lint-internal") continue;
        CAPTURE(check.id);
        CHECK(checks.count(std::string(check.id)) == 1);
    }
}

// test/profiles/good/ and the shipped examples: no errors, exactly these warnings.
const std::vector<std::pair<std::string, std::vector<std::string>>> kGoodCorpus{
    {"test/profiles/good/allow-list.json", {}},
    {"test/profiles/good/per-arch-names.json", {}},
    {"test/profiles/good/portable-names.json",
     {"syscall-not-on-architectures syscalls[0].names[5]",
      "syscall-not-on-architectures syscalls[0].names[7]",
      "syscall-not-on-architectures syscalls[0].names[8]",
      "syscall-not-on-architectures syscalls[0].names[10]",
      "syscall-not-on-architectures syscalls[0].names[12]"}},
    {"test/profiles/good/docker-default.json",
     {"docker-only-key archMap", "docker-only-key syscalls[1].includes",
      "docker-only-key syscalls[5].includes", "docker-only-key syscalls[6].includes",
      "docker-only-key syscalls[7].excludes", "dangerous-syscall syscalls[1].names[0]",
      "dangerous-syscall syscalls[6].names[0]", "dangerous-syscall syscalls[6].names[1]",
      "dangerous-syscall syscalls[6].names[2]", "dangerous-syscall syscalls[6].names[3]",
      "no-architectures architectures"}},
    {"examples/catalog/profiles/default.json", {}},
    {"examples/catalog/profiles/web.json", {}},
    {"examples/catalog/profiles/audit.json", {"permissive-default defaultAction"}},
};

TEST_CASE("lint corpus: good profiles have no errors and the expected warnings") {
    for (const auto& [file, warnings] : kGoodCorpus) {
        CAPTURE(file);
        const LintReport report = lint_profile(read_profile(file));
        CHECK(summary(report, Severity::kError).empty());
        CHECK(summary(report, Severity::kWarning) == warnings);
        CHECK(report.profile.has_value());
    }
}

TEST_CASE("lint corpus: every file in test/profiles/good and examples/catalog is in the table") {
    std::set<std::string> listed;
    for (const auto& [file, warnings] : kGoodCorpus) listed.insert(file);
    for (const std::string dir : {"test/profiles/good", "examples/catalog/profiles"}) {
        for (const auto& name : json_files(dir)) {
            CAPTURE(name);
            CHECK(listed.count(dir + "/" + name) == 1);
        }
    }
}

TEST_CASE("lint messages name the offending value") {
    const LintReport docker = lint_profile(read_profile("test/profiles/good/docker-default.json"));
    const auto text_of = [&](const std::string& field) {
        for (const auto& f : docker.findings) {
            if (f.field == field) return f.message;
        }
        return std::string{};
    };
    CHECK(
        text_of("syscalls[6].includes") ==
        R"(Docker applies this rule only when {"caps":["CAP_SYS_ADMIN"]} holds; containerd )"
        R"(ignores "includes" and applies it always, which can allow more than the profile means)");
    CHECK(text_of("syscalls[1].names[0]") ==
          R"("ptrace" is allowed (SCMP_ACT_ALLOW): reads and writes other processes' memory and )"
          "registers; before Linux 4.8 it bypasses seccomp");
    const LintReport audit = lint_profile(read_profile("examples/catalog/profiles/audit.json"));
    REQUIRE(audit.findings.size() == 1);
    CHECK(audit.findings[0].text() ==
          "defaultAction: is SCMP_ACT_LOG: every system call no rule names is allowed (and "
          "logged), 42 dangerous ones among them (ptrace, bpf, mount, umount2, unshare, setns, "
          "...)");
}

TEST_CASE("lint: inline cases, one finding each") {
    struct Case {
        std::string json;
        Severity severity;
        Expected expected;
        std::set<std::string> also{};  // other checks this profile triggers, not asserted here
    };
    const std::vector<Case> cases{
        // Schema: types and shapes.
        {"[]", Severity::kError, {"schema", "", "a profile must be a JSON object, not array"}},
        {R"({"defaultAction":5,"architectures":["SCMP_ARCH_X86_64"]})",
         Severity::kError,
         {"schema", "defaultAction", "must be a string, not a number 5"}},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":"SCMP_ARCH_X86_64"})",
         Severity::kError,
         {"schema", "architectures",
          R"(must be a list of strings, not string "SCMP_ARCH_X86_64")"}},
        {with_rules(R"({"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":-1})"),
         Severity::kError,
         {"schema", "syscalls[1].errnoRet", "must be an errno number from 0 to 4095, not -1"}},
        {with_rules(R"({"names":["read",7],"action":"SCMP_ACT_ALLOW"})"),
         Severity::kError,
         {"schema", "syscalls[1].names[1]", "must be a string, not a number 7"}},
        {with_rules(R"({"names":[""],"action":"SCMP_ACT_ALLOW"})"),
         Severity::kError,
         {"schema", "syscalls[1].names[0]", R"(must be a system call name, not "")"}},
        {with_rules(R"({"names":["read"]})"),
         Severity::kError,
         {"schema", "syscalls[1].action", "is required"}},
        {with_rules(R"({"names":["read"],"action":"SCMP_ACT_ALLOW","arg":[]})"),
         Severity::kError,
         {"schema", "syscalls[1].arg", R"(unknown field "arg")"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-8,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].value",
          "must be an integer from 0 to 2^64-1, not a negative number -8"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].op", "is required"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":"0","value":8,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].index", R"(must be a number, not string "0")"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":-1,"value":8,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"arg-index", "syscalls[1].args[0].index", "-1 is not an argument index"}},
        // Actions and their errno.
        {R"({"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"]})",
         Severity::kError,
         {"errno-ret", "defaultErrnoRet", "1 goes with defaultAction SCMP_ACT_ALLOW"},
         {"permissive-default"}},
        {with_rules(R"({"names":["uname"],"action":"SCMP_ACT_TRACE","errnoRet":38})"),
         Severity::kWarning,
         {"", "", ""}},  // TRACE takes an errno: clean
        {with_rules(R"({"names":["write"],"action":"SCMP_ACT_NOTIFY"})")
             .insert(1, R"("listenerPath":"/run/agent.sock",)"),
         Severity::kError,
         {"notify", "syscalls[1].names[0]", R"(SCMP_ACT_NOTIFY cannot apply to "write")"}},
        // Names.
        {with_rules(R"({"action":"SCMP_ACT_ALLOW"})"),
         Severity::kError,
         {"empty-names", "syscalls[1]", R"(has no "names")"}},
        {R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["nosuchcall"],"action":"SCMP_ACT_ERRNO"}]})",
         Severity::kError,
         {"unknown-syscall", "syscalls[0].names[0]",
          R"("nosuchcall" is not a system call on any architecture (libseccomp)"},
         {"permissive-default", "no-architectures"}},
        {with_rules(R"({"names":["socketcall"],"action":"SCMP_ACT_ALLOW"})"),
         Severity::kWarning,
         {"syscall-not-on-architectures", "syscalls[1].names[0]",
          R"("socketcall" is not a system call on SCMP_ARCH_X86_64 or SCMP_ARCH_AARCH64 )"
          "(libseccomp 2.5.4); it exists on SCMP_ARCH_X86 and 7 other architectures, which the "
          "profile does not list, so runtimes skip it"}},
        {with_rules(R"({"names":["raed"],"action":"SCMP_ACT_ALLOW"})"),
         Severity::kError,
         {"unknown-syscall", "syscalls[1].names[0]",
          R"("raed" is not a system call on any architecture (libseccomp 2.5.4))"}},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["exit","exit_group","rt_sigreturn","socketcall"],"action":"SCMP_ACT_ALLOW"}]})",
         Severity::kWarning,
         {"no-architectures", "architectures", "is missing"}},  // no architectures: any one will do
        // Duplicate keys, at any depth, named by their field.
        {with_rules(R"({"names":["read"],"action":"SCMP_ACT_ALLOW","action":"SCMP_ACT_KILL"})"),
         Severity::kError,
         {"schema", "syscalls[1].action", "is given twice in one object"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"value":0,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].value", "is given twice in one object"}},
        {with_rules(
             R"({"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":null,"errnoRet":null})"),
         Severity::kError,
         {"schema", "syscalls[1].errnoRet", "is given twice in one object"}},
        // Null is "unset" where Go's decoder makes it so, and a required key that is null is
        // missing.
        {R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":null,"architectures":["SCMP_ARCH_X86_64"],)"
         R"("flags":null,"listenerPath":null,"listenerMetadata":null,"comment":null,"syscalls":[)"
         R"({"names":["exit","exit_group","rt_sigreturn"],"action":"SCMP_ACT_ALLOW","errnoRet":null,"args":null,"comment":null},)"
         R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":null,"valueTwo":null,"op":"SCMP_CMP_EQ"}]}]})",
         Severity::kWarning,
         {"", "", ""}},
        {R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":null})",
         Severity::kWarning,
         {"permissive-default", "defaultAction", "is SCMP_ACT_ALLOW"}},
        {R"({"defaultAction":null,"architectures":["SCMP_ARCH_X86_64"]})",
         Severity::kError,
         {"schema", "defaultAction", "is required"}},
        {with_rules(R"({"names":["read"],"action":null})"),
         Severity::kError,
         {"schema", "syscalls[1].action", "is required"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":null,"value":8,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].index", "is required"}},
        {with_rules(R"({"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRte":null})"),
         Severity::kError,
         {"schema", "syscalls[1].errnoRte", R"(unknown field "errnoRte")"}},
        // Numbers that do not fit 64 bits are shown as written, and said to be out of range.
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].value",
          "is out of range: 18446744073709551616 does not fit 64 bits (an argument is 0 to "
          "2^64-1)"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"valueTwo":-99999999999999999999,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].valueTwo",
          "must be an integer from 0 to 2^64-1, not a negative number -99999999999999999999"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1.5,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"schema", "syscalls[1].args[0].value",
          "must be an integer from 0 to 2^64-1, not a non-integer number 1.5"}},
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":18446744073709551617,"value":8,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kError,
         {"arg-index", "syscalls[1].args[0].index",
          "18446744073709551617 is not an argument index"}},
        {with_rules(
             R"({"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":100000000000000000000})"),
         Severity::kError,
         {"schema", "syscalls[1].errnoRet",
          "must be an errno number from 0 to 4095, not 100000000000000000000"}},
        // Two conditions on one argument: runc makes them alternatives.
        {with_rules(
             R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":0,"op":"SCMP_CMP_EQ"},)"
             R"({"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"},{"index":0,"value":9,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kWarning,
         {"repeated-arg-index", "syscalls[1].args[2].index",
          "argument 0 is already tested by args[1]: runc then adds each of this rule's 4 "
          "conditions as a rule of its own, so the action applies when any one of them holds "
          "(OR), not only when all do (AND)"}},
        // Warnings.
        {with_rules(R"({"names":["bpf"],"action":"SCMP_ACT_LOG"})"),
         Severity::kWarning,
         {"dangerous-syscall", "syscalls[1].names[0]",
          R"("bpf" is allowed (SCMP_ACT_LOG): loads BPF programs)"}},
        {with_rules(
             R"({"names":["unshare"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]})"),
         Severity::kWarning,
         {"dangerous-syscall", "syscalls[1].names[0]",
          R"("unshare" is allowed (SCMP_ACT_ALLOW, under argument conditions))"}},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["exit","exit_group","read"],"action":"SCMP_ACT_ALLOW"}]})",
         Severity::kWarning,
         {"exit-blocked", "syscalls",
          R"("rt_sigreturn" is not allowed (no rule names it, and defaultAction is SCMP_ACT_ERRNO): processes cannot return from a signal handler)"}},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[)"
         R"({"names":["exit","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"},{"names":["exit_group"],"action":"SCMP_ACT_KILL"}]})",
         Severity::kWarning,
         {"exit-blocked", "syscalls[1].names[0]",
          R"("exit_group" is SCMP_ACT_KILL: processes cannot exit, so containers fail)"}},
        {R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["ptrace","bpf"],"action":"SCMP_ACT_ERRNO"}]})",
         Severity::kWarning,
         {"permissive-default", "defaultAction",
          "is SCMP_ACT_ALLOW: every system call no rule names is allowed, 40 dangerous ones "
          "among them (mount, umount2, unshare, setns, keyctl, add_key, ...)"}},
        {with_rules(R"({"name":"getpid","action":"SCMP_ACT_ALLOW"})"),
         Severity::kWarning,
         {"docker-only-key", "syscalls[1].name",
          R"(containerd ignores Docker's old "name" "getpid": the rule does not apply to it there)"}},
        {R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["exit","exit_group","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"}]})",
         Severity::kWarning,
         {"no-architectures", "architectures",
          "is missing: runtimes build the filter for the "
          "node's native architecture only"}},
        // What is not a finding.
        {with_rules(
             R"({"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},{"names":["personality"],"action":"SCMP_ACT_ERRNO"})"),
         Severity::kWarning,
         {"", "", ""}},  // a repeated same-action rule, and conditions + fallback, are fine
        {with_rules(R"({"names":["getpid"],"action":"SCMP_ACT_ERRNO"})"),
         Severity::kWarning,
         {"", "", ""}},  // the default action as a rule: runc drops it, as build_filter does
    };
    for (const auto& c : cases) {
        CAPTURE(c.json);
        const LintReport report = lint_profile(c.json);
        std::string found;
        for (const auto& f : report.findings) found += f.check + " " + f.text() + "\n";
        CAPTURE(found);
        if (c.expected.check.empty()) {
            CHECK(report.findings.empty());
            continue;
        }
        std::vector<const LintFinding*> asserted;
        for (const auto& f : report.findings) {
            if (c.also.count(f.check) == 0) asserted.push_back(&f);
        }
        REQUIRE(asserted.size() == 1);
        const LintFinding& finding = *asserted[0];
        CHECK(finding.severity == c.severity);
        CHECK(finding.check == c.expected.check);
        CHECK(finding.field == c.expected.field);
        CHECK(contains(finding.message, c.expected.message));
    }
}

TEST_CASE("lint: every error is reported, not just the first, and schema errors leave no profile") {
    const LintReport report = lint_profile(
        R"({"defaultAction":"SCMP_ACT_NOPE","architectures":["SCMP_ARCH_X86_64"],"syscalls":[)"
        R"({"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":"x"},{"names":[],"action":"SCMP_ACT_NOPE"}]})");
    CHECK(summary(report, Severity::kError) ==
          std::vector<std::string>{"unknown-action defaultAction", "schema syscalls[0].errnoRet",
                                   "empty-names syscalls[1].names",
                                   "unknown-action syscalls[1].action"});
    CHECK_FALSE(report.profile.has_value());

    const LintReport decoded = lint_profile(read_profile("test/profiles/good/allow-list.json"));
    REQUIRE(decoded.profile.has_value());
    const Profile& profile = *decoded.profile;
    CHECK(profile.default_action == "SCMP_ACT_KILL_PROCESS");
    CHECK(profile.architectures ==
          std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"});
    CHECK(profile.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    REQUIRE(profile.syscalls.size() == 5);
    REQUIRE(profile.syscalls[2].args.size() == 2);
    CHECK(profile.syscalls[2].args[1].index == 1);
    CHECK(profile.syscalls[2].args[1].value == 15);
    CHECK(profile.syscalls[2].args[1].value_two == 1);
    CHECK(profile.syscalls[2].args[1].op == "SCMP_CMP_MASKED_EQ");
    CHECK(profile.syscalls[3].errno_ret == 1U);
}

std::string repeated(const std::string& text, std::size_t times) {
    std::string all;
    all.reserve(text.size() * times);
    for (std::size_t i = 0; i < times; ++i) all += text;
    return all;
}

TEST_CASE("lint: keys given twice are named up to 20, then counted") {
    const LintReport report = lint_profile(
        with_rules(R"({"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"k":0,)" +
                   repeated(R"("k":0,)", 24) + R"("k":0}})"));
    const auto errors = summary(report, Severity::kError);
    REQUIRE(errors.size() == 21);
    CHECK(errors[0] == "schema syscalls[1].includes.k");
    CHECK(errors[19] == "schema syscalls[1].includes.k");
    CHECK(errors[20] == "schema ");
    CHECK(of_severity(report, Severity::kError)[20]->message ==
          "and 5 more keys given twice in one object");
}

TEST_CASE("lint never throws, whatever the bytes") {
    const std::vector<std::string> inputs{
        "",
        std::string("\0\xff", 2),
        std::string(100000, '['),
        R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[null,1,"x",[]]})",
        R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW",)"
        R"("args":[null,{"index":1e400}]}]})",
        // Valid and deep: shown in a message without walking it (it overflowed the stack).
        R"({"defaultAction":)" + std::string(200000, '[') + std::string(200000, ']') + "}",
        R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":)" +
            repeated(R"({"a":)", 100000) + "0" + std::string(100000, '}') + R"(}],"x":1,"x":2})",
    };
    for (const auto& text : inputs) {
        CAPTURE(text.substr(0, 80));
        const LintReport report = lint_profile(text);
        CHECK(report.has_errors());
    }
    // Deep documents stop the parse with their own message (they overflowed the stack under
    // ASan when copied).
    const LintReport deep = lint_profile(R"({"defaultAction":)" + std::string(200000, '[') +
                                         std::string(200000, ']') + "}");
    REQUIRE(deep.findings.size() == 1);
    CHECK(deep.findings[0].check == "json");
    CHECK(deep.findings[0].message == "nested deeper than 64 levels: not a seccomp profile");
}

Profile decoded(const std::string& json);

// A profile whose rule names `names` times "read" with `conditions` conditions, for `arches`.
std::string conditions_profile(std::size_t names, std::size_t conditions,
                               const std::vector<std::string>& arches) {
    std::string text = R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":[)";
    for (std::size_t i = 0; i < arches.size(); ++i) text += (i ? ",\"" : "\"") + arches[i] + "\"";
    text +=
        R"(],"syscalls":[{"names":["exit","exit_group","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"},)";
    text += R"({"action":"SCMP_ACT_ALLOW","names":[)";
    for (std::size_t i = 0; i < names; ++i) text += i ? ",\"read\"" : "\"read\"";
    text += R"(],"args":[)";
    for (std::size_t i = 0; i < conditions; ++i) {
        text += (i ? "," : "") + std::string(R"({"index":)") + std::to_string(i) +
                R"(,"value":0,"op":"SCMP_CMP_GE"})";
    }
    return text + "]}]}";
}

TEST_CASE("lint: too-large counts conditions once per name and per architecture, up to 1024") {
    const auto too_large = [](const std::string& json) {
        const LintReport report = lint_profile(json);
        return summary(report, Severity::kError);
    };
    const std::vector<std::string> one{"SCMP_ARCH_X86_64"};
    const std::vector<std::string> two{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
    CHECK(kMaxCompiledConditions == 1024);
    CHECK(too_large(conditions_profile(1024, 1, one)).empty());
    CHECK(too_large(conditions_profile(1025, 1, one)) ==
          std::vector<std::string>{"too-large syscalls"});
    CHECK(too_large(conditions_profile(256, 2, two)).empty());  // 512 x 2
    CHECK(too_large(conditions_profile(171, 3, two)) ==         // 513 x 2
          std::vector<std::string>{"too-large syscalls"});
    // Without architectures, the native one alone.
    CHECK(too_large(conditions_profile(1024, 1, {})).empty());
    const LintReport report = lint_profile(conditions_profile(205, 5, one));
    REQUIRE(report.findings.size() == 1);
    CHECK(report.findings[0].message ==
          "has 1025 argument conditions (a rule's conditions count once per name) for 1 "
          "architecture: 1025 to compile, more than the 1024 the linter builds a filter for "
          "(libseccomp's time grows faster than their square, and such a filter is near or over "
          "the kernel's limit of 4096 BPF instructions)");
    const auto check = std::find_if(lint_checks().begin(), lint_checks().end(),
                                    [](const LintCheck& c) { return c.id == "too-large"; });
    REQUIRE(check != lint_checks().end());
    CHECK(contains(std::string(check->summary), "(1024)"));
}

TEST_CASE("lint: architectures of the other byte order than this machine's are compiled for") {
    const std::string big =
        R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_S390X","SCMP_ARCH_S390"],)"
        R"("syscalls":[{"names":["exit","exit_group","rt_sigreturn","read"],"action":"SCMP_ACT_ALLOW"}]})";
    const std::string little =
        R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_AARCH64"],)"
        R"("syscalls":[{"names":["exit","exit_group","rt_sigreturn","read"],"action":"SCMP_ACT_ALLOW"}]})";
    const bool native_big = big_endian(seccomp_arch_native());
    const LintReport other = lint_profile(native_big ? little : big);
    CHECK(summary(other, Severity::kError).empty());
    CHECK(summary(other, Severity::kWarning) ==
          std::vector<std::string>{"other-byte-order architectures"});
    REQUIRE(!other.findings.empty());
    CHECK(contains(other.findings[0].message,
                   "runc adds the node's own architecture to the filter, so only"));
    const LintReport same = lint_profile(native_big ? big : little);
    CHECK(same.findings.empty());

    // A rule one of them refuses is still found: on s390 (32 bits) the two values are one.
    const LintReport conflict = lint_profile(
        R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_S390X","SCMP_ARCH_S390"],"syscalls":[)"
        R"({"names":["exit","exit_group","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"},)"
        R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},)"
        R"({"names":["personality"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":4294967297,"op":"SCMP_CMP_EQ"}]}]})");
    CAPTURE(conflict.findings.size());
    const auto errors = of_severity(conflict, Severity::kError);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0]->check == "compile");
    CHECK(errors[0]->field == "syscalls[2].names[0]");
    CHECK(contains(errors[0]->message, "no filter for SCMP_ARCH_S390:"));

    // This machine's runtime cannot build it, and says why.
    Profile profile = decoded(native_big ? little : big);
    std::string error;
    CHECK_FALSE(build_filter(profile, error));
    CHECK(contains(error, "(this machine's architecture, always in the filter) is"));
    CHECK(contains(error, "a seccomp filter has one byte order, libseccomp refuses to mix them"));
}

TEST_CASE("big_endian: the table agrees with libseccomp, which refuses to mix byte orders") {
    for (const std::uint32_t first : known_architectures()) {
        for (const std::uint32_t second : known_architectures()) {
            CAPTURE(arch_name(first));
            CAPTURE(arch_name(second));
            const Filter filter(seccomp_init(SCMP_ACT_ALLOW));
            REQUIRE(filter);
            REQUIRE(seccomp_arch_remove(filter.get(), SCMP_ARCH_NATIVE) == 0);
            REQUIRE(seccomp_arch_add(filter.get(), first) == 0);
            const int rc = seccomp_arch_add(filter.get(), second);
            if (first == second) {
                CHECK(rc == -EEXIST);
            } else {
                CHECK((rc == -EDOM) == (big_endian(first) != big_endian(second)));
                CHECK((rc == 0) == (big_endian(first) == big_endian(second)));
            }
        }
    }
    CHECK(big_endian(SCMP_ARCH_S390X));
    CHECK_FALSE(big_endian(SCMP_ARCH_X86_64));
}

// --- the filter ------------------------------------------------------------------------------

Profile decoded(const std::string& json) {
    LintReport report = lint_profile(json);
    REQUIRE_MESSAGE(report.profile.has_value(), json);
    return *report.profile;
}

// libseccomp's readable rendering of a filter (pseudo filter code).
std::string pfc(const Filter& filter) {
    const int fd = memfd_create("pfc", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(seccomp_export_pfc(filter.get(), fd) == 0);
    const off_t size = lseek(fd, 0, SEEK_END);
    std::string text(static_cast<std::size_t>(size), '\0');
    REQUIRE(pread(fd, text.data(), text.size(), 0) == size);
    close(fd);
    return text;
}

TEST_CASE("action_value: the runtime's actions, errno applied as runc applies it") {
    CHECK(action_value("SCMP_ACT_ERRNO", std::nullopt) == SCMP_ACT_ERRNO(EPERM));
    CHECK(action_value("SCMP_ACT_ERRNO", 38U) == SCMP_ACT_ERRNO(38));
    CHECK(action_value("SCMP_ACT_TRACE", 5U) == SCMP_ACT_TRACE(5));
    CHECK(action_value("SCMP_ACT_KILL", std::nullopt) == SCMP_ACT_KILL_THREAD);
    CHECK(action_value("SCMP_ACT_KILL_PROCESS", std::nullopt) == SCMP_ACT_KILL_PROCESS);
    CHECK(action_value("SCMP_ACT_ALLOW", 5U) == SCMP_ACT_ALLOW);
    CHECK(action_value("SCMP_ACT_LOG", std::nullopt) == SCMP_ACT_LOG);
    CHECK(action_value("SCMP_ACT_NOTIFY", std::nullopt) == SCMP_ACT_NOTIFY);
    CHECK_FALSE(action_value("SCMP_ACT_PERMIT", std::nullopt).has_value());
    CHECK_FALSE(action_value("scmp_act_allow", std::nullopt).has_value());
}

TEST_CASE("build_filter: architectures, native always in, names resolved per architecture") {
    std::string error;
    const Filter filter =
        build_filter(decoded(read_profile("test/profiles/good/per-arch-names.json")), error);
    REQUIRE_MESSAGE(filter, error);
    CHECK(error.empty());
    CHECK(seccomp_arch_exist(filter.get(), SCMP_ARCH_NATIVE) == 0);
    CHECK(seccomp_arch_exist(filter.get(), SCMP_ARCH_X86) == 0);
    CHECK(seccomp_arch_exist(filter.get(), SCMP_ARCH_AARCH64) == 0);
    CHECK(seccomp_arch_exist(filter.get(), SCMP_ARCH_S390X) == -EEXIST);
    const std::string code = pfc(filter);
    // socketcall is x86 only, arch_prctl x86 and x86_64: each is in the filter where it exists.
    CHECK(contains(code, "socketcall"));
    CHECK(contains(code, "arch_prctl"));
    CHECK(contains(code, "renameat2"));

    // Only aarch64 listed: the native architecture is still in the filter, as runc has it.
    const Filter arm = build_filter(
        decoded(R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_AARCH64"]})"),
        error);
    REQUIRE(arm);
    CHECK(seccomp_arch_exist(arm.get(), SCMP_ARCH_NATIVE) == 0);
    CHECK(seccomp_arch_exist(arm.get(), SCMP_ARCH_AARCH64) == 0);
}

TEST_CASE("build_filter: flags, the default errno, and what it refuses") {
    std::string error;
    const Filter logged =
        build_filter(decoded(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,)"
                             R"("flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_TSYNC"]})"),
                     error);
    REQUIRE_MESSAGE(logged, error);
    std::uint32_t value = 0;
    REQUIRE(seccomp_attr_get(logged.get(), SCMP_FLTATR_CTL_LOG, &value) == 0);
    CHECK(value == 1);
    REQUIRE(seccomp_attr_get(logged.get(), SCMP_FLTATR_ACT_DEFAULT, &value) == 0);
    CHECK(value == SCMP_ACT_ERRNO(38));
    REQUIRE(seccomp_attr_get(logged.get(), SCMP_FLTATR_CTL_NNP, &value) == 0);
    CHECK(value == 1);  // left at libseccomp's default: the caller decides

    Profile bad_arch = decoded(R"({"defaultAction":"SCMP_ACT_ERRNO"})");
    bad_arch.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
    CHECK_FALSE(build_filter(bad_arch, error));
    CHECK(error == R"(architectures[1]: "SCMP_ARCH_VAX" is not an architecture libseccomp knows)");

    Profile bad_flag = decoded(R"({"defaultAction":"SCMP_ACT_ERRNO"})");
    bad_flag.flags = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"};
    CHECK_FALSE(build_filter(bad_flag, error));
    CHECK(error == R"(flags[0]: "SECCOMP_FILTER_FLAG_NEW_LISTENER" is not a flag runc supports)");

    const Profile conflict = decoded(read_profile("test/profiles/bad/compile.json"));
    CHECK_FALSE(build_filter(conflict, error));
    CHECK(error ==
          R"(syscalls[2].names[0]: libseccomp refused the rule for "ioctl" (an earlier rule has )"
          "the same conditions and another action)");
}

TEST_CASE("build_filter: two conditions on one argument become two rules (OR), as runc does") {
    std::string error;
    const Filter filter = build_filter(
        decoded(with_rules(
            R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[)"
            R"({"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]})")),
        error);
    REQUIRE_MESSAGE(filter, error);
    std::string export_error;
    const auto program = export_bpf(filter, export_error);
    REQUIRE_MESSAGE(program.has_value(), export_error);
    CHECK(program->size() % 8 == 0);  // struct sock_filter is 8 bytes
    CHECK(program->size() > 8);
}

TEST_CASE("build_filter: libseccomp's binary tree above 32 names, as runc sets it") {
    std::string error;
    std::uint32_t value = 0;
    const Filter small = build_filter(decoded(with_rules("")), error);
    REQUIRE_MESSAGE(small, error);
    REQUIRE(seccomp_attr_get(small.get(), SCMP_FLTATR_CTL_OPTIMIZE, &value) == 0);
    CHECK(value == 1);
    const Filter large =
        build_filter(decoded(read_profile("test/profiles/good/docker-default.json")), error);
    REQUIRE_MESSAGE(large, error);
    REQUIRE(seccomp_attr_get(large.get(), SCMP_FLTATR_CTL_OPTIMIZE, &value) == 0);
    CHECK(value == 2);
}

// The filter runc's calls build: every name of every rule added, repeats included.
std::string runc_program(const Profile& profile) {
    const Filter filter(seccomp_init(*action_value(profile.default_action, std::nullopt)));
    REQUIRE(filter);
    for (const auto& rule : profile.syscalls) {
        const auto action = action_value(rule.action, rule.errno_ret);
        REQUIRE(action);
        std::vector<scmp_arg_cmp> conditions;
        for (const auto& arg : rule.args) {
            conditions.push_back({arg.index, *compare_op(arg.op), arg.value, arg.value_two});
        }
        for (const auto& name : rule.names) {
            REQUIRE(seccomp_rule_add_array(filter.get(), *action,
                                           seccomp_syscall_resolve_name(name.c_str()),
                                           static_cast<unsigned>(conditions.size()),
                                           conditions.empty() ? nullptr : conditions.data()) == 0);
        }
    }
    std::string error;
    const auto program = export_bpf(filter, error);
    REQUIRE_MESSAGE(program, error);
    return *program;
}

TEST_CASE("build_filter: a repeated rule is added once, and the program is runc's all the same") {
    const Profile profile = decoded(
        R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[)"
        R"({"names":["read","read","write","read"],"action":"SCMP_ACT_ALLOW"},)"
        R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},)"
        R"({"names":["personality"],"action":"SCMP_ACT_KILL"},)"
        R"({"names":["personality","personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},)"
        R"({"names":["write"],"action":"SCMP_ACT_ALLOW"},)"
        R"({"names":["ioctl"],"action":"SCMP_ACT_ERRNO","errnoRet":25,"args":[{"index":1,"value":21505,"op":"SCMP_CMP_EQ"}]},)"
        R"({"names":["ioctl"],"action":"SCMP_ACT_ERRNO","errnoRet":25,"args":[{"index":1,"value":21505,"op":"SCMP_CMP_EQ"}]}]})");
    std::string error;
    const Filter filter = build_filter(profile, error);
    REQUIRE_MESSAGE(filter, error);
    const auto program = export_bpf(filter, error);
    REQUIRE_MESSAGE(program, error);
    CHECK(*program == runc_program(profile));
}

TEST_CASE("the kernel refuses a program longer than kMaxFilterInstructions, as lint says") {
    // test/profiles/bad/compile-too-long.json lists this machine's architecture when it is a
    // little-endian one, so build_filter builds the very filter lint measured.
    const Profile profile = decoded(read_profile("test/profiles/bad/compile-too-long.json"));
    const std::uint32_t native = seccomp_arch_native();
    if (std::find(profile.architectures.begin(), profile.architectures.end(), arch_name(native)) ==
        profile.architectures.end()) {
        MESSAGE("skipped: this machine's architecture is not in compile-too-long.json");
        return;
    }
    std::string error;
    Filter filter = build_filter(profile, error);
    REQUIRE_MESSAGE(filter, error);
    const auto program = export_bpf(filter, error);
    REQUIRE_MESSAGE(program, error);
    CHECK(program->size() / 8 > kMaxFilterInstructions);
    REQUIRE(seccomp_attr_set(filter.get(), SCMP_FLTATR_API_SYSRAWRC, 1) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(-seccomp_load(filter.get()));  // the errno the kernel answered
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == EINVAL);
}

TEST_CASE("Filter is a move-only owner") {
    std::string error;
    Filter first = build_filter(decoded(R"({"defaultAction":"SCMP_ACT_ERRNO"})"), error);
    REQUIRE(first);
    const scmp_filter_ctx ctx = first.get();
    Filter second(std::move(first));
    CHECK_FALSE(first);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    CHECK(second.get() == ctx);
    Filter third;
    third = std::move(second);
    CHECK(third.get() == ctx);
    CHECK_FALSE(Filter());
}

TEST_CASE("build_filter: the filter works when loaded, as a runtime loads it") {
    // In a child process (a filter cannot be removed): getppid answers ENOSYS through the
    // rule's errnoRet, getpid the default action's errno, everything the profile allows works.
    const Profile profile = decoded(
        R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[)"
        R"({"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":38},)"
        R"({"names":["getpgid"],"action":"SCMP_ACT_ERRNO"},)"
        R"({"names":["arch_prctl_does_not_exist_here_or_anywhere"],"action":"SCMP_ACT_KILL"}]})");
    std::string error;
    // The unknown name is skipped (runc skips names libseccomp does not know).
    Filter filter = build_filter(profile, error);
    REQUIRE_MESSAGE(filter, error);
    REQUIRE(seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 1) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (seccomp_load(filter.get()) != 0) _exit(10);
        errno = 0;
        if (syscall(SYS_getppid) != -1 || errno != ENOSYS) _exit(11);
        errno = 0;
        if (syscall(SYS_getpgid, 0) != -1 || errno != EPERM) _exit(12);
        if (syscall(SYS_getpid) <= 0) _exit(13);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace seccomp_gate::profile
