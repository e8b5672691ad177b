// In-process cost of one review decision (request bytes in, response bytes out) for a realistic
// 4.3 KB pod AdmissionReview with managedFields, on /validate and /mutate.
//
//   build/dev/bench/review_bench [POLICY] [REQUEST.json] [ITERATIONS]

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "policy/admission.h"
#include "policy/io/files.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
void measure(const char* name, int iterations, F body) {
    for (int i = 0; i < iterations / 10; ++i) body();  // warm-up
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(iterations));
    const auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
        const auto t0 = Clock::now();
        body();
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    const double total = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    std::sort(samples.begin(), samples.end());
    const auto at = [&](double q) {
        return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))];
    };
    std::printf("%-34s mean %7.2f us  p50 %7.2f us  p99 %7.2f us  (%d iterations)\n", name,
                total / iterations, at(0.50), at(0.99), iterations);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string source = SECCOMP_GATE_SOURCE_DIR;
    const std::string policy_path = argc > 1 ? argv[1] : source + "/examples/policy.yaml";
    const std::string request_path = argc > 2 ? argv[2] : source + "/bench/admission-pod.json";
    const int iterations = argc > 3 ? std::stoi(argv[3]) : 200000;

    const auto snapshot = seccomp_gate::io::load_snapshot(policy_path);
    const std::string body = seccomp_gate::io::read_file(request_path);
    std::printf("request: %s (%zu bytes)\n", request_path.c_str(), body.size());
    std::printf(
        "verdict: %s\n",
        std::string(
            seccomp_gate::to_string(
                seccomp_gate::review(*snapshot, body, seccomp_gate::Endpoint::kValidate).verdict))
            .c_str());

    std::size_t sink = 0;
    seccomp_gate::ReviewScratch scratch;  // as the server keeps one per thread
    measure("review /validate (fresh buffers, as the CLI)", iterations, [&] {
        sink += seccomp_gate::review(*snapshot, body, seccomp_gate::Endpoint::kValidate)
                    .response.size();
    });
    measure("review /validate", iterations, [&] {
        sink += seccomp_gate::review(*snapshot, body, seccomp_gate::Endpoint::kValidate, scratch)
                    .response.size();
    });
    measure("review /mutate", iterations, [&] {
        sink +=
            seccomp_gate::review(*snapshot, body, seccomp_gate::Endpoint::kMutate, scratch)
                .response.size();
    });
    simdjson::dom::parser parser;
    measure("simdjson DOM parse alone", iterations, [&] {
        const simdjson::padded_string padded(body);
        simdjson::dom::element root;
        if (parser.parse(padded).get(root) == simdjson::SUCCESS) ++sink;
    });
    return sink == 0 ? 1 : 0;
}
