"""Hot reload without restart and without a failed request: the TLS certificate and key, the
policy file and the catalog directory, each swapped the way Kubernetes volume mounts swap them.
A broken new file keeps the last good state and is counted in /metrics."""

import json
import os
import time
import unittest

import harness

INTERVAL = ["--reload-interval", "100ms"]


def reloads(server, what):
    return server.metric(f'seccomp_gate_reloads_total{{what="{what}"}}')


def reload_errors(server, what):
    return server.metric(f'seccomp_gate_reload_errors_total{{what="{what}"}}')


class ReloadCase(unittest.TestCase):
    def setUp(self):
        self.pki = harness.shared_pki()
        self.workspace = harness.Workspace(self.pki)
        self.server = harness.Server(self.workspace, *INTERVAL)

    def tearDown(self):
        self.server.stop()
        self.workspace.cleanup()

    def verdict(self, name):
        status, _, data = self.server.post("/validate", harness.read_bytes(harness.data_file(name)))
        self.assertEqual(status, 200)
        return data

    def review(self, name):
        return harness.review_output(self.workspace.policy_file, harness.data_file(name))

    def wait_metric(self, read, target, message):
        harness.wait_until(lambda: read() >= target, timeout=10, message=message)


class CertificateReloadTest(ReloadCase):
    def test_rotation_mid_stream_fails_no_request_and_serves_the_new_certificate(self):
        old_der = harness.der_of(self.pki.server[0])
        new_der = harness.der_of(self.pki.server2[0])
        body = harness.read_bytes(harness.data_file("admission-pod.json"))
        expected = self.review("admission-pod.json")
        with harness.Load(self.server, body, expected, keep_alive=2, fresh=2) as load:
            harness.wait_until(lambda: load.count() >= 30, message="no traffic")
            self.assertEqual(harness.peer_certificate(self.server.port, self.server.ca_file),
                             old_der)
            swapped_at = time.monotonic()
            self.workspace.tls.update({"tls.crt": harness.read_bytes(self.pki.server2[0]),
                                       "tls.key": harness.read_bytes(self.pki.server2[1])})
            harness.wait_until(
                lambda: any(t > swapped_at and der == new_der for t, der in load.certificates),
                timeout=10, message="new certificate never served")
            served = load.count()
            harness.wait_until(lambda: load.count() >= served + 30, message="traffic stopped")
        self.assertEqual(load.failures, [])
        # Once the new certificate is served, it is the only one served.
        first_new = min(t for t, der in load.certificates if der == new_der)
        self.assertTrue(all(der == new_der for t, der in load.certificates if t > first_new + 0.05))
        self.assertEqual(harness.peer_certificate(self.server.port, self.server.ca_file), new_der)
        self.assertEqual(reloads(self.server, "tls"), 1)
        self.assertEqual(reload_errors(self.server, "tls"), 0)

    def test_broken_certificate_keeps_the_last_good_one(self):
        old_der = harness.der_of(self.pki.server[0])
        # A key that does not belong to the certificate: the rotation is refused.
        self.workspace.tls.update({"tls.crt": harness.read_bytes(self.pki.server2[0]),
                                   "tls.key": harness.read_bytes(self.pki.server[1])})
        self.wait_metric(lambda: reload_errors(self.server, "tls"), 1, "TLS reload error not counted")
        self.assertEqual(harness.peer_certificate(self.server.port, self.server.ca_file), old_der)
        self.assertEqual(self.server.request("GET", "/readyz")[0], 200)
        self.server.wait_for_log(lambda l: l.get("level") == "error" and "TLS" in l.get("msg", ""))
        # Garbage instead of PEM, too.
        self.workspace.tls.update({"tls.crt": b"not a certificate", "tls.key": b"nor a key"})
        self.wait_metric(lambda: reload_errors(self.server, "tls"), 2, "TLS reload error not counted")
        self.assertEqual(harness.peer_certificate(self.server.port, self.server.ca_file), old_der)
        # The next good pair is taken.
        self.workspace.tls.update({"tls.crt": harness.read_bytes(self.pki.server2[0]),
                                   "tls.key": harness.read_bytes(self.pki.server2[1])})
        self.wait_metric(lambda: reloads(self.server, "tls"), 1, "TLS reload not counted")
        self.assertEqual(harness.peer_certificate(self.server.port, self.server.ca_file),
                         harness.der_of(self.pki.server2[0]))


class PolicyReloadTest(ReloadCase):
    def test_policy_reload_changes_decisions_without_a_failed_request(self):
        denied = self.verdict("denied-pod.json")
        self.assertFalse(json.loads(denied)["response"]["allowed"])
        body = harness.read_bytes(harness.data_file("denied-pod.json"))
        with harness.Load(self.server, body, None, keep_alive=2, fresh=1) as load:
            harness.wait_until(lambda: load.count() >= 20, message="no traffic")
            self.workspace.policy.update(
                {"policy.yaml": harness.policy_text(self.workspace.catalog_root, mode="warn")})
            self.wait_metric(lambda: reloads(self.server, "policy"), 1, "policy not reloaded")
            served = load.count()
            harness.wait_until(lambda: load.count() >= served + 20, message="traffic stopped")
        self.assertEqual(load.failures, [])
        warned = self.verdict("denied-pod.json")
        self.assertTrue(json.loads(warned)["response"]["allowed"])
        self.assertEqual(warned, self.review("denied-pod.json"))

    def test_broken_policy_keeps_the_last_good_one(self):
        before = self.verdict("denied-pod.json")
        good = harness.policy_text(self.workspace.catalog_root, mode="warn")
        self.workspace.policy.update({"policy.yaml": good + "surprise: true\n"})
        self.wait_metric(lambda: reload_errors(self.server, "policy"), 1,
                         "policy reload error not counted")
        line = self.server.wait_for_log(lambda l: l.get("msg", "").startswith("reload failed"))
        self.assertIn("surprise", line["error"])
        self.assertEqual(self.verdict("denied-pod.json"), before)
        self.assertEqual(self.server.request("GET", "/readyz")[0], 200)
        self.assertEqual(reloads(self.server, "policy"), 0)
        self.workspace.policy.update({"policy.yaml": good})
        self.wait_metric(lambda: reloads(self.server, "policy"), 1, "policy not reloaded")
        self.assertTrue(json.loads(self.verdict("denied-pod.json"))["response"]["allowed"])


class CatalogReloadTest(ReloadCase):
    def catalog_with(self, **extra):
        files = harness.example_catalog_files()
        for name, content in extra.items():
            if content is None:
                files.pop("profiles/" + name)
            else:
                files["profiles/" + name] = content
        return files

    def test_a_new_profile_is_picked_up(self):
        self.assertFalse(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
        self.assertEqual(self.server.metric("seccomp_gate_catalog_profiles"), 3)
        web = harness.read_bytes(os.path.join(harness.EXAMPLE_CATALOG, "web.json"))
        self.workspace.catalog.update(self.catalog_with(**{"custom.json": web}))
        self.wait_metric(lambda: reloads(self.server, "catalog"), 1, "catalog not reloaded")
        self.assertEqual(self.server.metric("seccomp_gate_catalog_profiles"), 4)
        allowed = self.verdict("custom-profile-pod.json")
        self.assertTrue(json.loads(allowed)["response"]["allowed"])
        self.assertEqual(allowed, self.review("custom-profile-pod.json"))

    def test_a_broken_profile_is_left_out_and_reported(self):
        self.workspace.catalog.update(self.catalog_with(**{"custom.json": b"{not json"}))
        self.wait_metric(lambda: self.server.metric("seccomp_gate_catalog_rejected_profiles"), 1,
                         "rejected profile not reported")
        self.assertEqual(self.server.metric("seccomp_gate_catalog_profiles"), 3)
        line = self.server.wait_for_log(lambda l: l.get("msg") == "catalog profile rejected")
        self.assertIn("custom.json", line["file"])
        self.assertFalse(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
        self.assertTrue(json.loads(self.verdict("admission-pod.json"))["response"]["allowed"])

    def test_a_profile_that_becomes_invalid_keeps_its_last_good_version(self):
        # custom.json is good, then broken: pods using it stay allowed (as the nodes keep their
        # last good copy), the error is logged and counted; fixed or removed, it follows.
        web = harness.read_bytes(os.path.join(harness.EXAMPLE_CATALOG, "web.json"))
        self.workspace.catalog.update(self.catalog_with(**{"custom.json": web}))
        self.wait_metric(lambda: reloads(self.server, "catalog"), 1, "catalog not reloaded")
        self.assertTrue(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
        errors_before = reload_errors(self.server, "catalog")
        self.workspace.catalog.update(self.catalog_with(**{"custom.json": b"{not json"}))
        self.wait_metric(lambda: reload_errors(self.server, "catalog"), errors_before + 1,
                         "a profile that broke was not counted as a catalog reload error")
        line = self.server.wait_for_log(
            lambda l: l.get("msg", "").startswith("catalog profile became invalid"))
        self.assertIn("custom.json", line["file"])
        self.assertEqual(line["level"], "error")
        self.assertEqual(self.server.metric("seccomp_gate_catalog_profiles"), 4)
        self.assertEqual(self.server.metric("seccomp_gate_catalog_rejected_profiles"), 1)
        for _ in range(3):  # not just the first moments: it stays
            self.assertTrue(
                json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
            time.sleep(0.3)
        # Fixed again: the new good version, no longer rejected.
        self.workspace.catalog.update(self.catalog_with(**{"custom.json": web + b"\n"}))
        harness.wait_until(
            lambda: self.server.metric("seccomp_gate_catalog_rejected_profiles") == 0,
            timeout=10, message="fixed profile still rejected")
        self.assertTrue(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
        # Removed: the profile goes with its file.
        self.workspace.catalog.update(self.catalog_with())
        harness.wait_until(lambda: self.server.metric("seccomp_gate_catalog_profiles") == 3,
                           timeout=10, message="removed profile still in the catalog")
        self.assertFalse(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])

    def test_a_catalog_the_policy_cannot_use_keeps_the_last_good_one(self):
        # Without default.json the policy's defaultProfile is dangling: the reload is refused.
        web = harness.read_bytes(os.path.join(harness.EXAMPLE_CATALOG, "web.json"))
        self.workspace.catalog.update(self.catalog_with(**{"default.json": None,
                                                           "custom.json": web}))
        self.wait_metric(lambda: reload_errors(self.server, "catalog"), 1,
                         "catalog reload error not counted")
        self.assertEqual(self.server.metric("seccomp_gate_catalog_profiles"), 3)
        self.assertFalse(json.loads(self.verdict("custom-profile-pod.json"))["response"]["allowed"])
        self.assertEqual(self.server.request("GET", "/readyz")[0], 200)


class ConfigMapCatalogTest(unittest.TestCase):
    """The catalog as a plain ConfigMap mount: `default.json -> ..data/default.json`."""

    def test_configmap_mount_catalog(self):
        pki = harness.shared_pki()
        workspace = harness.Workspace(pki)
        try:
            catalog = harness.Mount(os.path.join(workspace.root, "cm-catalog"),
                                    harness.example_catalog_files(subdirectory=""))
            text = harness.policy_text(catalog.dir).replace("profiles/default.json",
                                                            "default.json")
            workspace.policy.update({"policy.yaml": text})
            server = harness.Server(workspace)
            try:
                self.assertEqual(server.metric("seccomp_gate_catalog_profiles"), 3)
            finally:
                server.stop()
        finally:
            workspace.cleanup()


if __name__ == "__main__":
    unittest.main()
