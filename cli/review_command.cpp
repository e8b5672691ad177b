// `seccomp-gate review --policy FILE [--mutate] [FILE|-]`: the server's code path, offline.

#include <iostream>
#include <iterator>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/load.h"
#include "policy/admission.h"
#include "policy/io/files.h"

namespace seccomp_gate::cli {
namespace {

constexpr const char* kHelp = R"(usage: seccomp-gate review --policy FILE [--mutate] [FILE|-]

Reads one AdmissionReview (JSON) from FILE or stdin and prints the AdmissionReview response
that the webhook sends for it on /validate (or /mutate with --mutate): the same code path.

options:
  --policy FILE   the policy file (its catalog is read relative to it)
  --mutate        answer as /mutate: add the defaultProfile patch where the policy says so

exit: 0 allowed, 1 denied or not a usable AdmissionReview (the response says why),
      2 bad input (not JSON, unreadable file) or usage
)";

}  // namespace

int review_command(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"policy"}, {"mutate"});
    if (args.help) {
        std::cout << kHelp;
        return kExitOk;
    }
    if (args.positionals.size() > 1) throw UsageError("takes at most one input file");
    const SnapshotPtr snapshot = load_policy("review", args.required("policy"));
    const std::string input = args.positionals.empty() ? "-" : args.positionals[0];
    std::string body;
    if (input == "-") {
        body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        body = io::read_file(input);
    }
    const ReviewOutcome outcome =
        review(*snapshot, body, args.flag("mutate") ? Endpoint::kMutate : Endpoint::kValidate);
    if (outcome.verdict == Verdict::kNotJson) {
        std::cerr << "seccomp-gate review: " << (input == "-" ? "<stdin>" : input) << ": "
                  << outcome.response << "\n";
        return kExitBadInput;
    }
    std::cout << outcome.response << "\n";
    return outcome.verdict == Verdict::kAllowed ? kExitOk : kExitFindings;
}

}  // namespace seccomp_gate::cli
