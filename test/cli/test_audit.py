"""End-to-end tests of `seccomp-gate audit` (SPEC.md section 1, rules of section 5), run against
the built binary on the shipped examples and on test/cli/data/.

Expected findings are written from SPEC.md and the message formats of policy/checks/*.cpp; the
line a finding names is looked up in the manifest (the line of the field the finding names).
"""

import json
import os
import pathlib
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
POLICY = "examples/policy.yaml"  # relative to SOURCE_DIR, where every command runs
DATA = "test/cli/data"
STDIN_NAMES = ("<stdin>", "-")

UNSET = ('container "{0}" has no seccomp profile (set securityContext.seccompProfile on the '
         "container or at {1}.securityContext.seccompProfile)")
UNCONFINED = 'container "{0}" must not set seccompProfile.type to "Unconfined"'
NOT_IN_CATALOG = ('container "{0}" uses Localhost profile "{1}", which is not in the profile '
                  "catalog")


def run(args, stdin=b""):
    return subprocess.run([BINARY, "audit", *[str(a) for a in args]], input=stdin,
                          capture_output=True, cwd=SOURCE_DIR, timeout=60, check=False)


def line_of(relative_path, needle):
    """1-based line of the only line of the file that contains `needle`."""
    lines = (SOURCE_DIR / relative_path).read_text().splitlines()
    hits = [number for number, line in enumerate(lines, start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} occurs {len(hits)} times in {relative_path}"
    return hits[0]


def audit_json(*args, stdin=b""):
    result = run(["--policy", POLICY, "--output", "json", *args], stdin=stdin)
    return result, json.loads(result.stdout)


class ShippedExamples(unittest.TestCase):
    """examples/policy.yaml on examples/manifests: the three violations of debug-tools.yaml."""

    FILE = "examples/manifests/debug-tools.yaml"

    def expected(self):
        """(line, object, field, message, rule, document, kind, namespace, name, container)."""
        f = self.FILE
        return [
            (line_of(f, "type: Unconfined"), "DaemonSet/ops/node-debugger",
             "spec.template.spec.containers[1].securityContext.seccompProfile.type",
             UNCONFINED.format("tracer"), "unconfined", 1, "DaemonSet", "ops", "node-debugger",
             "tracer"),
            (line_of(f, "localhostProfile: profiles/redis.json"), "Pod/ops/cache",
             "spec.containers[0].securityContext.seccompProfile.localhostProfile",
             NOT_IN_CATALOG.format("redis", "profiles/redis.json"), "localhost", 2, "Pod", "ops",
             "cache", "redis"),
            # The field does not exist: the line is the container's.
            (line_of(f, "- name: shell"), "Pod/ops/scratch",
             "spec.containers[0].securityContext.seccompProfile", UNSET.format("shell", "spec"),
             "unset", 3, "Pod", "ops", "scratch", "shell"),
        ]

    def test_text_output(self):
        result = run(["--policy", POLICY, "examples/manifests"])
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stdout.decode().splitlines()
        expected = [f"{self.FILE}:{line}: {obj}: {field}: {message}"
                    for line, obj, field, message, *_ in self.expected()]
        self.assertEqual(len(lines), len(expected), lines)
        for got, want in zip(lines, expected):
            with self.subTest(finding=want):
                self.assertEqual(got, want)
        self.assertIn("3 violations", result.stderr.decode())

    def test_json_output(self):
        result, report = audit_json("examples/manifests")
        self.assertEqual(result.returncode, 1)
        # batch.yaml (CronJob), debug-tools.yaml (DaemonSet, 2 Pods), web.yaml (Deployment,
        # and a Service that is not judged).
        self.assertEqual(report["summary"], {"files": 3, "objects": 5, "exempt": 0,
                                             "violations": 3, "warnings": 0, "errors": 0})
        self.assertEqual(report["errors"], [])
        self.assertEqual(len(report["findings"]), 3)
        for finding, want in zip(report["findings"], self.expected()):
            line, _, field, message, rule, document, kind, ns, name, container = want
            with self.subTest(field=field):
                self.assertEqual(finding["file"], self.FILE)
                self.assertEqual(finding["document"], document)
                self.assertEqual((finding["kind"], finding["namespace"], finding["name"]),
                                 (kind, ns, name))
                self.assertEqual(finding["field"], field)
                self.assertEqual(finding["container"], container)
                self.assertEqual(finding["message"], message)
                self.assertEqual(finding["rule"], rule)
                self.assertEqual(finding["severity"], "violation")
                self.assertEqual(finding["mode"], "enforce")
                self.assertEqual(finding["line"], line)

    def test_compliant_examples_alone(self):
        result = run(["--policy", POLICY, "examples/manifests/web.yaml",
                      "examples/manifests/batch.yaml"])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(result.stdout, b"")


class Inputs(unittest.TestCase):
    def test_clean_directory_recursive(self):
        result = run(["--policy", POLICY, f"{DATA}/clean"])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(result.stdout, b"")
        _, report = audit_json(f"{DATA}/clean")
        # web.yaml (Deployment, Service, Pod), nested/job.yml (Job), nested/settings.json.
        self.assertEqual(report["summary"]["files"], 3)
        self.assertEqual(report["summary"]["objects"], 3)
        self.assertEqual(report["findings"], [])

    def test_malformed_document_in_multi_document_file(self):
        multi = f"{DATA}/broken/multi.yaml"
        other = f"{DATA}/broken/other.yaml"
        result = run(["--policy", POLICY, f"{DATA}/broken"])
        self.assertEqual(result.returncode, 2, result.stdout)
        text = result.stdout.decode()
        error_lines = [line for line in text.splitlines() if "error" in line]
        self.assertEqual(len(error_lines), 1, text)
        self.assertIn(multi, error_lines[0])
        self.assertIn("document 2", error_lines[0])
        # The documents before and after the broken one, and the other file, are still judged.
        self.assertIn(f"{multi}:{line_of(multi, 'type: Unconfined')}: Pod/shop/first: "
                      "spec.containers[0].securityContext.seccompProfile.type: "
                      + UNCONFINED.format("app"), text)
        self.assertIn(f"{multi}:{line_of(multi, '- name: worker')}: Pod/shop/third: "
                      "spec.containers[0].securityContext.seccompProfile: "
                      + UNSET.format("worker", "spec"), text)
        self.assertIn(f"{other}:{line_of(other, 'type: Unconfined')}: StatefulSet/shop/db: "
                      "spec.template.spec.securityContext.seccompProfile.type: pod must not set "
                      'seccompProfile.type to "Unconfined" (inherited by container "postgres")',
                      text)

        result, report = audit_json(f"{DATA}/broken")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(report["errors"]), 1)
        self.assertEqual(report["errors"][0]["file"], multi)
        self.assertEqual(report["errors"][0]["document"], 2)
        self.assertEqual(sorted((f["file"], f["document"], f["name"]) for f in report["findings"]),
                         [(multi, 1, "first"), (multi, 3, "third"), (other, 1, "db")])

    def test_json_manifest(self):
        path = f"{DATA}/pod.json"
        result, report = audit_json(path)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(report["findings"]), 1)
        finding = report["findings"][0]
        self.assertEqual((finding["kind"], finding["namespace"], finding["name"]),
                         ("Pod", "shop", "json-pod"))
        self.assertEqual(finding["field"], "spec.containers[0].securityContext.seccompProfile.type")
        self.assertEqual(finding["message"], UNCONFINED.format("web"))
        self.assertEqual(finding["line"], line_of(path, '"type": "Unconfined"'))

    def test_kind_list(self):
        result, report = audit_json(f"{DATA}/list.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(report["summary"]["objects"], 2)
        self.assertEqual(len(report["findings"]), 1)
        finding = report["findings"][0]
        self.assertEqual((finding["kind"], finding["namespace"], finding["name"]),
                         ("Pod", "shop", "listed"))
        self.assertEqual(finding["field"],
                         "spec.containers[0].securityContext.seccompProfile.localhostProfile")
        self.assertEqual(finding["message"], 'container "sidecar" sets localhostProfile '
                                             '"/etc/seccomp/envoy.json", which must be a relative path')
        self.assertEqual(finding["document"], 1)

    def test_kubectl_get_json_on_stdin(self):
        # `kubectl get pods,deploy,svc -A -o json | seccomp-gate audit -`: a List of mixed kinds.
        data = (SOURCE_DIR / DATA / "kubectl-get.json").read_bytes()
        result = run(["--policy", POLICY, "-"], stdin=data)
        self.assertEqual(result.returncode, 1, result.stderr)
        result, report = audit_json("-", stdin=data)
        # Pods api-... and debug are judged; coredns is in kube-system (exempt); the Deployment's
        # template sets no profile but the policy has a defaultProfile; the Service is not judged.
        self.assertEqual(report["summary"]["objects"], 4)
        self.assertEqual(report["summary"]["exempt"], 1)
        found = sorted((f["file"] in STDIN_NAMES, f["kind"], f["namespace"], f["name"], f["field"],
                        f["message"]) for f in report["findings"])
        self.assertEqual(found, [
            (True, "Pod", "ops", "debug",
             "spec.containers[0].securityContext.seccompProfile.type", UNCONFINED.format("shell")),
            (True, "Pod", "shop", "api-6d4f9b7c5-x2x9z",
             "spec.containers[0].securityContext.seccompProfile", UNSET.format("api", "spec")),
        ])

    def test_pod_list(self):
        result, report = audit_json(f"{DATA}/podlist.json")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(report["summary"]["objects"], 2)
        self.assertEqual([(f["name"], f["rule"]) for f in report["findings"]],
                         [("debug", "unconfined")])

    def test_several_paths(self):
        result, report = audit_json(f"{DATA}/pod.json", f"{DATA}/clean", "examples/manifests")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(report["summary"]["files"], 1 + 3 + 3)
        self.assertEqual(report["summary"]["violations"], 1 + 0 + 3)

    def test_exempt_namespace_is_skipped(self):
        path = f"{DATA}/exempt.yaml"
        result = run(["--policy", POLICY, path])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(result.stdout, b"")
        _, report = audit_json(path)
        self.assertEqual(report["summary"]["exempt"], 1)
        self.assertEqual(report["findings"], [])

    def test_warn_mode_namespace_still_counts(self):
        # The audit reports violations whatever the namespace's mode; the finding says the mode.
        result, report = audit_json(f"{DATA}/legacy-namespace.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertEqual([(f["namespace"], f["severity"], f["mode"]) for f in report["findings"]],
                         [("legacy", "violation", "warn")])

    def test_warnings_only_exit_zero(self):
        path = f"{DATA}/warnings/privileged.yaml"
        result = run(["--policy", POLICY, path])
        self.assertEqual(result.returncode, 0, result.stdout)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        for line in lines:
            self.assertIn(": warning: ", line)
        self.assertIn(f"{path}:{line_of(path, 'privileged: true')}: DaemonSet/ops/node-agent: "
                      "spec.template.spec.containers[0].securityContext.privileged: warning: "
                      'container "agent" is privileged, so it runs unconfined whatever its '
                      "seccomp profile", lines)
        _, report = audit_json(path)
        self.assertEqual(sorted(f["rule"] for f in report["findings"]), ["permissive", "privileged"])
        self.assertEqual({f["severity"] for f in report["findings"]}, {"warning"})


class Sarif(unittest.TestCase):
    PATH = f"{DATA}/lines.yaml"

    def test_sarif(self):
        result = run(["--policy", POLICY, "--output", "sarif", self.PATH])
        self.assertEqual(result.returncode, 1, result.stderr)
        sarif = json.loads(result.stdout)
        self.assertEqual(sarif["version"], "2.1.0")
        self.assertEqual(len(sarif["runs"]), 1)
        run_ = sarif["runs"][0]
        rules = run_["tool"]["driver"]["rules"]
        rule_ids = [rule["id"] for rule in rules]

        f = self.PATH
        expected = {  # ruleId -> (level, line of the offending field)
            "unset": ("error", line_of(f, "- name: app")),
            "unconfined": ("error", line_of(f, "type: Unconfined")),
            "localhost": ("error", line_of(f, "localhostProfile: profiles/missing.json")),
            "unknown-type": ("error", line_of(f, "seccompProfile: {type: Bogus}")),
            "privileged": ("warning", line_of(f, "privileged: true")),
            "legacy-annotation": ("warning", line_of(f, "container.seccomp.security.alpha")),
        }
        results = run_["results"]
        self.assertEqual(sorted(r["ruleId"] for r in results), sorted(expected))
        for item in results:
            with self.subTest(rule=item["ruleId"]):
                level, line = expected[item["ruleId"]]
                self.assertIn(item["ruleId"], rule_ids)
                if "ruleIndex" in item:
                    self.assertEqual(rules[item["ruleIndex"]]["id"], item["ruleId"])
                self.assertEqual(item["level"], level)
                self.assertIn("Pod/shop/lines", item["message"]["text"])
                location = item["locations"][0]["physicalLocation"]
                self.assertEqual(location["artifactLocation"]["uri"], self.PATH)
                self.assertEqual(location["region"]["startLine"], line)

    def test_sarif_clean(self):
        result = run(["--policy", POLICY, "--output", "sarif", f"{DATA}/clean"])
        self.assertEqual(result.returncode, 0)
        sarif = json.loads(result.stdout)
        self.assertEqual(sarif["version"], "2.1.0")
        self.assertEqual(sarif["runs"][0]["results"], [])


class Errors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_one_line_error(self, result, *needles):
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 2, stderr)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(stderr.count("\n"), 1, f"one line expected: {stderr!r}")
        for needle in needles:
            self.assertIn(str(needle), stderr)

    def write_policy(self, body):
        path = self.dir / "policy.yaml"
        path.write_text("apiVersion: seccomp-gate/v1\nkind: Policy\n"
                        f"catalog:\n  directory: {SOURCE_DIR / 'examples/catalog'}\n" + body)
        return path

    def test_policy_unknown_key(self):
        policy = self.write_policy("mode: enforce\nprivilegd: deny\n")
        self.assert_one_line_error(run(["--policy", policy, "examples/manifests"]),
                                   policy, "privilegd")

    def test_policy_unknown_nested_key(self):
        policy = self.write_policy("exemptions:\n  namespace: [kube-system]\n")
        self.assert_one_line_error(run(["--policy", policy, "examples/manifests"]),
                                   policy, "exemptions.namespace")

    def test_policy_bad_value(self):
        policy = self.write_policy("mode: strict\n")
        self.assert_one_line_error(run(["--policy", policy, "examples/manifests"]), policy, "mode")

    def test_missing_path(self):
        missing = self.dir / "no-such-manifests"
        result = run(["--policy", POLICY, missing])
        self.assertEqual(result.returncode, 2)
        self.assertIn(str(missing), (result.stdout + result.stderr).decode())

    def test_not_a_mapping(self):
        path = self.dir / "scalar.yaml"
        path.write_text("just a string\n")
        result, report = audit_json(path)
        self.assertEqual(result.returncode, 2)
        self.assertEqual([(e["file"], e["document"]) for e in report["errors"]], [(str(path), 1)])

    def test_usage_errors(self):
        cases = {
            "no path": ["--policy", POLICY],
            "bad output": ["--policy", POLICY, "--output", "xml", "examples/manifests"],
            "unknown option": ["--policy", POLICY, "--strict", "examples/manifests"],
            "no policy": ["examples/manifests"],
            "output without value": ["--policy", POLICY, "examples/manifests", "--output"],
        }
        for name, args in cases.items():
            with self.subTest(case=name):
                self.assert_one_line_error(run(args))

    def test_help(self):
        result = run(["--help"])
        self.assertEqual(result.returncode, 0)
        usage = result.stdout.decode()
        for option in ("--policy", "--output", "sarif"):
            self.assertIn(option, usage)


if __name__ == "__main__":
    unittest.main()
