"""End-to-end tests of `seccomp-gate review` (SPEC.md section 1 and 2), run against the built binary.

Every golden pair of test/golden/ (see its README.md) must come out of the binary byte for byte,
from a file and from stdin; the rest checks the flags, the exit codes and the one-line errors.
"""

import base64
import json
import os
import pathlib
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
GOLDEN = SOURCE_DIR / "test/golden"
EXAMPLE_POLICY = SOURCE_DIR / "examples/policy.yaml"


def run(args, stdin=b"", cwd=None):
    return subprocess.run([BINARY, *[str(a) for a in args]], input=stdin, capture_output=True,
                          cwd=cwd, timeout=60, check=False)


def golden_cases(directory):
    """(name, request path, expected response bytes, policy path) for test/golden/<directory>."""
    cases = []
    for request in sorted((GOLDEN / directory).glob("*.request.json")):
        name = request.name[: -len(".request.json")]
        response = request.with_name(name + ".response.json").read_bytes()
        if response.endswith(b"\n"):
            response = response[:-1]
        policy_file = request.with_name(name + ".policy")
        policy = GOLDEN / (policy_file.read_text().strip() if policy_file.exists() else "policy.yaml")
        cases.append((name, request, response, policy))
    return cases


def expected_exit(response_bytes):
    """SPEC section 1 / review --help: 0 allowed, 1 denied or not a usable AdmissionReview."""
    return 0 if json.loads(response_bytes)["response"]["allowed"] else 1


CATALOG_WARNING = b"seccomp-gate review: warning: catalog file "


def without_catalog_warnings(stderr):
    """Drops the lines that report catalog files left out (the golden catalog has a broken one)."""
    return b"".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith(CATALOG_WARNING)
    )


class ErrorAssertions(unittest.TestCase):
    def assert_one_line_error(self, result, *needles):
        stderr = without_catalog_warnings(result.stderr).decode()
        self.assertEqual(result.returncode, 2, stderr)
        self.assertEqual(result.stdout, b"", "nothing on stdout on a bad-input error")
        self.assertTrue(stderr.endswith("\n"), repr(stderr))
        self.assertEqual(stderr.count("\n"), 1, f"one line expected: {stderr!r}")
        for needle in needles:
            self.assertIn(str(needle), stderr)


class GoldenPairs(unittest.TestCase):
    def check_pairs(self, directory, mutate, via_stdin):
        cases = golden_cases(directory)
        self.assertGreater(len(cases), 0)
        for name, request, expected, policy in cases:
            with self.subTest(case=f"{directory}/{name}", stdin=via_stdin):
                args = ["review", "--policy", policy] + (["--mutate"] if mutate else [])
                if via_stdin:
                    result = run(args + ["-"], stdin=request.read_bytes())
                else:
                    result = run(args + [request])
                self.assertEqual(without_catalog_warnings(result.stderr), b"")
                self.assertEqual(result.stdout, expected + b"\n")
                self.assertEqual(result.returncode, expected_exit(expected))

    def test_validate_pairs_from_file(self):
        self.check_pairs("validate", mutate=False, via_stdin=False)

    def test_validate_pairs_from_stdin(self):
        self.check_pairs("validate", mutate=False, via_stdin=True)

    def test_mutate_pairs_from_file(self):
        self.check_pairs("mutate", mutate=True, via_stdin=False)

    def test_mutate_pairs_from_stdin(self):
        self.check_pairs("mutate", mutate=True, via_stdin=True)

    def test_stdin_is_the_default_input(self):
        name, request, expected, policy = next(
            c for c in golden_cases("validate") if c[0] == "pod-denied-many")
        result = run(["review", "--policy", policy], stdin=request.read_bytes())
        self.assertEqual(result.stdout, expected + b"\n")
        self.assertEqual(result.returncode, 1)

    def test_corpus_size(self):
        self.assertGreaterEqual(len(golden_cases("validate")) + len(golden_cases("mutate")), 20)


class MutateFlag(unittest.TestCase):
    def test_validate_never_returns_a_patch(self):
        # SPEC section 2: /validate never returns a patch, even for requests /mutate patches.
        for name, request, _, policy in golden_cases("mutate"):
            with self.subTest(case=name):
                result = run(["review", "--policy", policy, request])
                response = json.loads(result.stdout)["response"]
                self.assertNotIn("patch", response)
                self.assertNotIn("patchType", response)

    def test_mutate_adds_the_default_profile(self):
        request = {
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "6a1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "shop", "operation": "CREATE",
                "userInfo": {"username": "alice"},
                "object": {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "p", "namespace": "shop"},
                           "spec": {"containers": [{"name": "a", "image": "busybox"}]}},
            },
        }
        body = json.dumps(request).encode()
        validated = run(["review", "--policy", EXAMPLE_POLICY, "-"], stdin=body)
        mutated = run(["review", "--policy", EXAMPLE_POLICY, "--mutate", "-"], stdin=body)

        # /validate: the pod has no profile at all (rule 5), so it is denied.
        self.assertEqual(validated.returncode, 1)
        answer = json.loads(validated.stdout)["response"]
        self.assertFalse(answer["allowed"])
        self.assertEqual(answer["status"]["code"], 403)
        self.assertIn('container "a"', answer["status"]["message"])

        # /mutate: examples/policy.yaml has defaultProfile profiles/default.json (SPEC section 7).
        self.assertEqual(mutated.returncode, 0, mutated.stderr)
        answer = json.loads(mutated.stdout)["response"]
        self.assertEqual(answer["uid"], request["request"]["uid"])
        self.assertTrue(answer["allowed"])
        self.assertEqual(answer["patchType"], "JSONPatch")
        patch = json.loads(base64.b64decode(answer["patch"], validate=True))
        self.assertEqual(patch, [{
            "op": "add", "path": "/spec/securityContext",
            "value": {"seccompProfile": {"type": "Localhost",
                                         "localhostProfile": "profiles/default.json"}}}])

        # Idempotent: the patched pod gets no second patch.
        request["request"]["object"]["spec"]["securityContext"] = patch[0]["value"]
        again = run(["review", "--policy", EXAMPLE_POLICY, "--mutate", "-"],
                    stdin=json.dumps(request).encode())
        self.assertEqual(again.returncode, 0)
        self.assertNotIn("patch", json.loads(again.stdout)["response"])


class ExitCodes(ErrorAssertions):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def golden(self, directory, name):
        return next(c for c in golden_cases(directory) if c[0] == name)

    def test_allowed_denied_invalid(self):
        for directory, name, code in [("validate", "pod-allowed", 0),
                                      ("validate", "pod-warn-mode", 0),
                                      ("validate", "pod-denied-many", 1),
                                      ("validate", "invalid-missing-uid", 1),
                                      ("validate", "invalid-body-array", 1),
                                      ("mutate", "pod-patch-new-security-context", 0)]:
            with self.subTest(case=name):
                _, request, _, policy = self.golden(directory, name)
                flags = ["--mutate"] if directory == "mutate" else []
                result = run(["review", "--policy", policy, *flags, request])
                self.assertEqual(result.returncode, code, result.stdout)

    def test_not_json_file(self):
        path = self.dir / "broken-review.json"
        path.write_text('{"apiVersion": "admission.k8s.io/v1", "kind": ')
        result = run(["review", "--policy", EXAMPLE_POLICY, path])
        self.assert_one_line_error(result, path)

    def test_not_json_stdin(self):
        result = run(["review", "--policy", EXAMPLE_POLICY, "-"], stdin=b"apiVersion: v1\nkind: x\n")
        self.assert_one_line_error(result)

    def test_empty_input(self):
        result = run(["review", "--policy", EXAMPLE_POLICY, "-"], stdin=b"")
        self.assert_one_line_error(result)

    def test_missing_input_file(self):
        path = self.dir / "no-such-review.json"
        result = run(["review", "--policy", EXAMPLE_POLICY, path])
        self.assert_one_line_error(result, path)

    def test_input_is_a_directory(self):
        result = run(["review", "--policy", EXAMPLE_POLICY, self.dir])
        self.assert_one_line_error(result, self.dir)

    def write_policy(self, body):
        path = self.dir / "policy.yaml"
        path.write_text("apiVersion: seccomp-gate/v1\nkind: Policy\n"
                        f"catalog:\n  directory: {SOURCE_DIR / 'examples/catalog'}\n" + body)
        return path

    def test_policy_unknown_key(self):
        policy = self.write_policy("mode: enforce\nallowUnsett: true\n")
        _, request, _, _ = self.golden("validate", "pod-allowed")
        result = run(["review", "--policy", policy, request])
        self.assert_one_line_error(result, policy, "allowUnsett")

    def test_policy_wrong_type(self):
        policy = self.write_policy("allowRuntimeDefault: sometimes\n")
        _, request, _, _ = self.golden("validate", "pod-allowed")
        result = run(["review", "--policy", policy, request])
        self.assert_one_line_error(result, policy, "allowRuntimeDefault")

    def test_policy_default_profile_not_in_catalog(self):
        policy = self.write_policy(
            "defaultProfile:\n  type: Localhost\n  localhostProfile: profiles/nope.json\n")
        _, request, _, _ = self.golden("validate", "pod-allowed")
        result = run(["review", "--policy", policy, request])
        self.assert_one_line_error(result, policy, "defaultProfile.localhostProfile")

    def test_policy_file_missing(self):
        policy = self.dir / "absent-policy.yaml"
        _, request, _, _ = self.golden("validate", "pod-allowed")
        result = run(["review", "--policy", policy, request])
        self.assert_one_line_error(result, policy)

    def test_policy_option_required(self):
        _, request, _, _ = self.golden("validate", "pod-allowed")
        self.assert_one_line_error(run(["review", request]), "--policy")

    def test_unknown_option(self):
        _, request, _, policy = self.golden("validate", "pod-allowed")
        self.assert_one_line_error(run(["review", "--policy", policy, "--frobnicate", request]),
                                   "--frobnicate")

    def test_two_inputs(self):
        _, request, _, policy = self.golden("validate", "pod-allowed")
        self.assert_one_line_error(run(["review", "--policy", policy, request, request]))

    def test_policy_needs_a_value(self):
        self.assert_one_line_error(run(["review", "--policy"]), "--policy")

    def test_catalog_files_left_out_are_reported(self):
        cases = golden_cases("validate")
        name, request, expected, policy = cases[0]
        result = run(["review", "--policy", policy, request])
        warnings = [
            line for line in result.stderr.decode().splitlines()
            if line.startswith(CATALOG_WARNING.decode())
        ]
        self.assertTrue(any("broken.json" in line and "is not a seccomp action" in line for line in warnings),
                        result.stderr)

    def test_help(self):
        result = run(["review", "--help"])
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stderr, b"")
        usage = result.stdout.decode()
        for option in ("--policy", "--mutate", "review"):
            self.assertIn(option, usage)

    def test_help_wins_over_missing_options(self):
        self.assertEqual(run(["review", "-h"]).returncode, 0)

    def test_top_level_help(self):
        result = run(["--help"])
        self.assertEqual(result.returncode, 0)
        self.assertIn("review", result.stdout.decode())
        self.assertIn("audit", result.stdout.decode())

    def test_unknown_command(self):
        self.assert_one_line_error(run(["reviwe"]), "reviwe")


if __name__ == "__main__":
    unittest.main()
