#!/usr/bin/env python3
"""run.sh's own logic, on every CI run and without Docker: run.sh against the fake docker, kind
and kubectl of fakes/ (fakes/fakecluster.py says how they answer; admission requests go to the
real `seccomp-gate review`), through a passing run, a webhook that wrongly admits, a webhook that
never answers, a replica left on the old policy, and the other ways the issue found it could go
wrong.

Time is virtual: BASH_ENV gives run.sh a `sleep` that advances bash's SECONDS instead of waiting,
so `eventually 120` gives up after 120 script seconds in a fraction of a real one, and run.sh
keeps its real timeouts.

usage: python3 test/e2e/kind/test_run_logic.py [-v] [TestRunLogic.test_...]
  env SECCOMP_GATE     the binary (default build/dev/cli/seccomp-gate)
      E2E_RUN_SH       the script under test (default: run.sh beside this file); point it at an
                       older run.sh to see which cases catch its defects
      E2E_SCENARIO     JSON merged into every case's scenario, e.g. '{"image_store": "classic"}'
      E2E_ONLY         comma-separated names of SCENARIOS to run (the other tests skip)
Needs bash, python3, openssl (certs/generate.sh runs for real) and the real kubectl (for
`kubectl kustomize`, which the fake `kubectl apply -k` runs).
"""

import concurrent.futures
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fakes"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import fakecluster  # noqa: E402
REPO = HERE.parents[2]
RUN_SH = Path(os.environ.get("E2E_RUN_SH", HERE / "run.sh"))
BINARY = os.path.abspath(os.environ.get("SECCOMP_GATE", REPO / "build/dev/cli/seccomp-gate"))
VIRTUAL_CLOCK = "sleep() { SECONDS=$((SECONDS + ${1%s})); }\n"

# Every check of a run that goes well, in order.
ALL_CHECKS = [
    "the DaemonSet installed the catalog on seccomp-gate-e2e-control-plane",
    "the DaemonSet installed the catalog on seccomp-gate-e2e-worker",
    "the DaemonSet installed the catalog on seccomp-gate-e2e-worker2",
    "an Unconfined pod is denied",
    "a pod with a Localhost profile missing from the catalog is denied",
    "a Deployment with an Unconfined template is denied",
    "seccomp-gate/web.json is applied: mkdir fails with EPERM in its pod",
    "... while the same pod under RuntimeDefault may mkdir",
    "a pod without a profile is mutated to Localhost seccomp-gate/default.json",
    "... runs under it: sched_setaffinity works",
    "... and personality(ADDR_NO_RANDOMIZE) is refused",
    "... which the same pod under the allow-all audit.json may do",
    "kubectl debug on a pod with a pod-level profile is admitted",
    "kubectl debug adding a container without a profile is denied",
    "with no webhook replica, pods are refused (failurePolicy Fail)",
    "with no webhook replica, a running pod can still be labelled (pod UPDATE fails open)",
    "audit mode admits an Unconfined pod",
    "audit mode mutates nothing: a pod without a profile is admitted as it is",
    "the audit log records validate.seccomp-gate.io/violations for the admitted pod",
]


# The worlds run.sh meets, one per test below (fakes/fakecluster.py explains each knob).
# Each full run costs some seconds of CPU, so worlds that go wrong in unrelated places share one.
SCENARIOS = {
    "passing": {},
    "wrongly_admits": {"wrongly_admit": ["Pod/missing", "Deployment/unconfined"],
                       "audit_annotations": False},
    "never_answers": {"webhook": "silent", "save_platform": False},
    "flaky_replica": {"flaky_replica": True},
    "audit_event_missing": {"audit_namespaces": ["e2e"]},
    "no_docker_engine": {"docker_engine": False},
}


class Run:
    def __init__(self, result, calls):
        self.code = result.returncode
        self.output = result.stdout + result.stderr
        self.calls = calls
        self.passes = re.findall(r"^PASS: (.*)$", result.stdout, re.M)
        self.fails = re.findall(r"^FAIL: (.*)$", result.stdout, re.M)
        summary = re.findall(r"^(\d+) passed, (\d+) failed$", result.stdout, re.M)
        self.summary = tuple(map(int, summary[-1])) if summary else None


def run_script(scenario):
    """run.sh in a fake world of its own: returns its Run."""
    scenario = dict(scenario, **json.loads(os.environ.get("E2E_SCENARIO") or "{}"))
    with tempfile.TemporaryDirectory(prefix="kind-fakes-") as state:
        clock = Path(state) / "clock.sh"
        clock.write_text(VIRTUAL_CLOCK)
        world = Path(state) / "world"
        context = multiprocessing.get_context("fork")
        port_source, port_sink = context.Pipe()
        server = context.Process(target=fakecluster.serve, daemon=True,
                                 args=(world, scenario, BINARY, port_sink))
        server.start()
        try:
            env = {key: value for key, value in os.environ.items() if key not in (
                "KUBECONFIG", "KEEP_CLUSTER", "KIND_CLUSTER", "KIND_NODE_IMAGE")}
            # The system's directories right after the fakes: a long PATH (version managers,
            # toolchains) makes every `#!/usr/bin/env bash` try each directory in turn.
            path = [str(HERE / "fakes"), "/usr/local/bin", "/usr/bin", "/bin", os.environ["PATH"]]
            env.update(PATH=os.pathsep.join(path),
                       BASH_ENV=str(clock), FAKE_CLUSTER_PORT=str(port_source.recv()))
            result = subprocess.run(["bash", str(RUN_SH)], env=env, capture_output=True,
                                    text=True, timeout=600)
        finally:
            server.terminate()
            server.join()
        calls_log = world / "calls.log"
        calls = calls_log.read_text().splitlines() if calls_log.exists() else []
    return Run(result, calls)


class TestRunLogic(unittest.TestCase):
    runs = {}

    @classmethod
    def setUpClass(cls):
        missing = [tool for tool in ("bash", "openssl") if not shutil.which(tool)]
        if not shutil.which("kubectl"):
            missing.append("kubectl (for kubectl kustomize)")
        if not os.access(BINARY, os.X_OK):
            missing.append(f"the seccomp-gate binary at {BINARY} (build it, or set SECCOMP_GATE)")
        if missing:
            raise RuntimeError("missing: " + ", ".join(missing))
        only = [name for name in os.environ.get("E2E_ONLY", "").split(",") if name]
        scenarios = {name: SCENARIOS[name] for name in only} if only else SCENARIOS
        # The runs are independent: all at once, then each test reads its own.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
            futures = {name: pool.submit(run_script, scenario)
                       for name, scenario in scenarios.items()}
            cls.runs = {name: future.result() for name, future in futures.items()}

    def run_of(self, name):
        if name not in self.runs:
            self.skipTest(f"E2E_ONLY leaves out {name}")
        return self.runs[name]

    def assert_all_passed(self, run):
        self.assertEqual(run.fails, [], run.output)
        self.assertEqual(run.passes, ALL_CHECKS, run.output)
        self.assertEqual(run.summary, (len(ALL_CHECKS), 0), run.output)
        self.assertEqual(run.code, 0, run.output)

    def test_passing_run(self):
        """Defects 1 and 3: every check passes against a webhook that answers, where Docker
        keeps images in containerd. The old run.sh stopped at `kind load docker-image` of the
        multi-platform busybox, and past it at "the webhook never answered": under pipefail,
        `kubectl ... | grep -q` was false exactly when the webhook denied."""
        run = self.run_of("passing")
        self.assert_all_passed(run)
        # The webhook's own denial reached run.sh, as the API server words it.
        self.assertIn('Error from server (Forbidden): error when creating "STDIN": admission '
                      'webhook "validate.seccomp-gate.io" denied the request: ', run.output)
        # busybox went in as one platform; the first calls to the webhook were refused and retried.
        self.assertIn("docker save --platform linux/", "\n".join(run.calls))
        self.assertTrue(any(c.startswith("kind load image-archive ") for c in run.calls))
        self.assertNotIn("busybox", "\n".join(c for c in run.calls if "docker-image" in c))
        probes = [c for c in run.calls if c == "kubectl apply --dry-run=server -f -"]
        self.assertGreaterEqual(len(probes), 2, run.calls)

    def test_webhook_wrongly_admits(self):
        """Defect 2: a webhook that admits what it must deny (and forgets its audit annotation)
        fails the run, with a FAIL line per check and the right counts. In the old run.sh
        expect_denied ran on the right of a pipe, in a subshell: its FAIL lines were printed, but
        the summary said 0 failed, exit 0."""
        run = self.run_of("wrongly_admits")
        wrong = ["a pod with a Localhost profile missing from the catalog is denied",
                 "a Deployment with an Unconfined template is denied",
                 "the audit log records validate.seccomp-gate.io/violations for the admitted pod"]
        self.assertEqual(run.fails, [wrong[0] + ": admitted", wrong[1] + ": admitted", wrong[2]],
                         run.output)
        self.assertEqual(run.passes, [check for check in ALL_CHECKS if check not in wrong],
                         run.output)
        self.assertEqual(run.summary, (len(ALL_CHECKS) - 3, 3), run.output)
        self.assertEqual(run.code, 1, run.output)
        self.assertIn("    pod/missing created", run.output)
        self.assertIn("    deployment.apps/unconfined created", run.output)
        # The audit check shows the events it found, without the annotation.
        self.assertRegex(run.output, r'    \{"kind":"Event".*"name":"audit-unconfined"')

    def test_webhook_never_answers(self):
        """Defect 1: a webhook that never answers stops the run after 120 s of retries, with the
        API server's last error shown (the old run.sh showed an empty file: grep had it). This
        Docker has no `save --platform` (defect 3, before Docker 28): the nodes pull busybox."""
        run = self.run_of("never_answers")
        self.assertIn("note: this docker cannot save one platform of busybox:1.36.1", run.output)
        self.assertFalse(any("image-archive" in c for c in run.calls), run.calls)
        self.assertIn("kind load docker-image seccomp-gate:e2e --name seccomp-gate-e2e", run.calls)
        self.assertEqual(run.fails, ["the webhook never answered"], run.output)
        self.assertEqual(run.passes, [], run.output)
        self.assertIn('failed calling webhook "validate.seccomp-gate.io": failed to call webhook: '
                      'Post "https://seccomp-gate.seccomp-gate.svc:443/validate?timeout=5s": '
                      'context deadline exceeded', run.output.split("FAIL: the webhook never "
                                                                    "answered")[1])
        self.assertNotIn("== checks", run.output)
        self.assertEqual(run.code, 1, run.output)
        # It kept asking, every 2 s of its clock (which real time moves on too) for 120 s.
        probes = [c for c in run.calls if c == "kubectl apply --dry-run=server -f -"]
        self.assertGreaterEqual(len(probes), 5, run.calls)
        self.assertLessEqual(len(probes), 61, run.calls)
        self.assertEqual(run.calls[-1], "kind delete cluster --name seccomp-gate-e2e")

    def test_flaky_replica(self):
        """Defect 4: one of three replicas still serves the enforce policy after the audit overlay
        (its kubelet has not refreshed the ConfigMap). The old run.sh went on after the first
        admission, and the stale replica denied `must kubectl apply` of audit-unset."""
        run = self.run_of("flaky_replica")
        self.assert_all_passed(run)
        self.assertIn("kubectl -n seccomp-gate rollout restart deployment/seccomp-gate", run.calls)

    def test_audit_log_without_the_event(self):
        """Defect 5: grep finding nothing no longer ends the script before its summary."""
        run = self.run_of("audit_event_missing")
        check = "the audit log records validate.seccomp-gate.io/violations for the admitted pod"
        self.assertEqual(run.fails, [check], run.output)
        self.assertIn("    (no audit event for audit-unconfined)", run.output)
        self.assertEqual(run.summary, (len(ALL_CHECKS) - 1, 1), run.output)
        self.assertEqual(run.code, 1, run.output)

    def test_no_docker_engine(self):
        """Without an engine run.sh says why it skips and touches nothing."""
        run = self.run_of("no_docker_engine")
        self.assertEqual(run.output, "skipped: no Docker engine (docker info failed): kind tests "
                         "need one\n")
        self.assertEqual(run.code, 0)
        self.assertEqual(run.calls, ["docker info"])


if __name__ == "__main__":
    unittest.main()
