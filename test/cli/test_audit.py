"""End-to-end tests of `seccomp-gate audit` (SPEC.md section 1, rules of section 5), run against
the built binary on the shipped examples and on test/cli/data/.

Expected findings are written from SPEC.md and the message formats of policy/checks/*.cpp; the
line a finding names is looked up in the manifest (the line of the field the finding names).
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

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


# The SARIF 2.1.0 schema check: node with test/cli/sarif's packages (npm ci --prefix test/cli/sarif).
SARIF_VALIDATOR = SOURCE_DIR / "test/cli/sarif/validate.cjs"
SARIF_SCHEMA = (SOURCE_DIR / "test/cli/sarif/node_modules/@microsoft/jest-sarif/lib/schemas/"
                "sarif-2.1.0-rtm.5.json")
# What RFC 3986 lets a path segment hold as it is (unreserved, sub-delims, "@"; ":" is encoded).
URI_PATH_SAFE = "/-._~!$&'()*+,;=@"


def run(args, stdin=b"", cwd=SOURCE_DIR):
    return subprocess.run([BINARY, "audit", *[str(a) for a in args]], input=stdin,
                          capture_output=True, cwd=cwd, timeout=60, check=False)


def project_version():
    """The VERSION of project() in the top-level CMakeLists.txt."""
    text = (SOURCE_DIR / "CMakeLists.txt").read_text()
    match = re.search(r"^project\(seccomp-gate VERSION ([0-9.]+)", text, re.MULTILINE)
    assert match, "no project(seccomp-gate VERSION ...) in CMakeLists.txt"
    return match.group(1)


def position(line, files):
    """(file, line) of a text output line, `FILE:LINE: ...` or `FILE: ...` (line 0), FILE one of
    `files`."""
    for file in sorted(files, key=len, reverse=True):
        if line.startswith(file + ":"):
            match = re.match(r"(\d+): ", line[len(file) + 1:])
            return file, int(match.group(1)) if match else 0
    raise AssertionError(f"no known file starts {line!r}")


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

    def test_driver_version_is_the_project_version(self):
        result = run(["--policy", POLICY, "--output", "sarif", self.PATH])
        driver = json.loads(result.stdout)["runs"][0]["tool"]["driver"]
        self.assertEqual(driver["name"], "seccomp-gate")
        self.assertEqual(driver["version"], project_version())

    def test_uri_is_percent_encoded(self):
        # Spaces, "#", "%", "?", ":" and non-ASCII bytes in a path make an invalid URI, or one that
        # names another file (a fragment, a query): each is percent-encoded, "/" kept.
        with tempfile.TemporaryDirectory() as tmp:
            relative = "odd dir #1/100% sure?: pod-ü.yaml"
            manifest = pathlib.Path(tmp) / relative
            manifest.parent.mkdir()
            shutil.copy(SOURCE_DIR / self.PATH, manifest)
            policy = SOURCE_DIR / POLICY
            for path, expected in (
                    (relative, "odd%20dir%20%231/100%25%20sure%3F%3A%20pod-%C3%BC.yaml"),
                    (str(manifest), "file://" + urllib.parse.quote(str(manifest), URI_PATH_SAFE))):
                with self.subTest(path=path):
                    result = run(["--policy", policy, "--output", "sarif", path], cwd=tmp)
                    self.assertEqual(result.returncode, 1, result.stderr)
                    results = json.loads(result.stdout)["runs"][0]["results"]
                    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                            for r in results}
                    self.assertEqual(uris, {expected})
                    parsed = urllib.parse.urlsplit(expected)
                    self.assertEqual((parsed.query, parsed.fragment), ("", ""))
                    self.assertEqual(urllib.parse.unquote(parsed.path), str(manifest)
                                     if parsed.scheme else relative)

    def test_valid_against_the_sarif_schema(self):
        node = shutil.which("node")
        if node is None or not SARIF_SCHEMA.exists():
            self.skipTest("needs node and test/cli/sarif/node_modules (npm ci --prefix "
                          "test/cli/sarif, as .ci/install-deps does)")
        with tempfile.TemporaryDirectory() as tmp:
            odd = pathlib.Path(tmp) / "odd dir #1" / "100% ü.yaml"
            odd.parent.mkdir()
            shutil.copy(SOURCE_DIR / self.PATH, odd)
            logs = {
                "findings": [self.PATH, "examples/manifests"],
                "an odd path, absolute and relative": [odd, os.path.relpath(odd, SOURCE_DIR)],
                "no findings": [f"{DATA}/clean"],
                "read errors": [f"{DATA}/broken", pathlib.Path(tmp) / "missing.yaml"],
            }
            for name, paths in logs.items():
                with self.subTest(log=name):
                    result = run(["--policy", POLICY, "--output", "sarif", *paths])
                    self.assertIn(result.returncode, (0, 1, 2), result.stderr)
                    check = subprocess.run([node, SARIF_VALIDATOR, "-"], input=result.stdout,
                                           capture_output=True, timeout=60, check=False)
                    self.assertEqual(check.returncode, 0,
                                     (check.stdout + check.stderr).decode())

    def test_sarif_clean(self):
        result = run(["--policy", POLICY, "--output", "sarif", f"{DATA}/clean"])
        self.assertEqual(result.returncode, 0)
        sarif = json.loads(result.stdout)
        self.assertEqual(sarif["version"], "2.1.0")
        self.assertEqual(sarif["runs"][0]["results"], [])


class Order(unittest.TestCase):
    """Findings and errors come by file, then line, whatever order the paths were given in."""

    PATHS = [f"{DATA}/lines.yaml", f"{DATA}/broken", "examples/manifests"]

    def test_json_by_file_then_line(self):
        result, report = audit_json(*self.PATHS)
        self.assertEqual(result.returncode, 2, result.stderr)
        findings = [(f["file"], f["line"]) for f in report["findings"]]
        errors = [(e["file"], e["line"]) for e in report["errors"]]
        self.assertEqual(findings, sorted(findings))
        self.assertEqual(errors, sorted(errors))
        # Every path's findings are there, in another order than the paths were given in.
        self.assertEqual(sorted({file.split("/")[0] for file, _ in findings}),
                         ["examples", "test"])
        self.assertEqual(len({file for file, _ in findings}), 4)

    def test_text_by_file_then_line_errors_in_place(self):
        _, report = audit_json(*self.PATHS)
        files = {f["file"] for f in report["findings"]} | {e["file"] for e in report["errors"]}
        result = run(["--policy", POLICY, *self.PATHS])
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(len(lines), len(report["findings"]) + len(report["errors"]))
        positions = [position(line, files) for line in lines]
        self.assertEqual(positions, sorted(positions), "\n".join(lines))
        # The broken document's error sits among multi.yaml's findings, not after every file.
        error = next(i for i, line in enumerate(lines) if ": error: " in line)
        self.assertIn("broken/multi.yaml", lines[error])
        self.assertIn("broken/multi.yaml", lines[error + 1])

    def test_equal_positions_keep_document_order(self):
        # A List on one line: both pods' findings are on line 1, in the order of the items.
        with tempfile.TemporaryDirectory() as tmp:
            pods = [{"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": name, "namespace": "shop"},
                     "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext":
                                              {"seccompProfile": {"type": "Unconfined"}}}]}}
                    for name in ("zeta", "alpha", "mu")]
            path = pathlib.Path(tmp) / "one-line.json"
            path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
            result, report = audit_json(path)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertEqual([(f["line"], f["name"]) for f in report["findings"]],
                             [(1, "zeta"), (1, "alpha"), (1, "mu")])


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
