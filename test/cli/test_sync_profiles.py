"""End-to-end tests of `seccomp-gate sync-profiles` (SPEC.md section 1), against the built binary.

One-shot runs on temporary directories (exit codes, reports, ownership), and `--watch` driven the
way a node drives it: the catalog ConfigMap mount is swapped like the kubelet swaps it (a new
timestamped directory, then `..data` renamed over), and the test polls the destination with a
deadline until it shows the new catalog.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
PROFILES = SOURCE_DIR / "examples/catalog/profiles"
STATE_FILE = ".seccomp-gate-sync.json"
BROKEN = b'{"defaultAction": "SCMP_ACT_PERMIT"}'
DEADLINE_SECONDS = 30


def profile(name):
    return (PROFILES / name).read_bytes()


def run(*args):
    return subprocess.run([BINARY, "sync-profiles", *[str(a) for a in args]],
                          capture_output=True, timeout=60, check=False)


def wait_until(condition, what, seconds=DEADLINE_SECONDS):
    """Polls `condition` until it is true; fails naming `what` once the deadline has passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass  # a file renamed or removed by the sync while the condition looked at it
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def read_or_none(path):
    try:
        return path.read_bytes()
    except OSError:
        return None


class ConfigMapMount:
    """A ConfigMap volume as the kubelet lays it out and updates it (its atomic writer)."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.generation = 0

    def update(self, payload):
        self.generation += 1
        version = f"..2026_11_28_10_00_{self.generation:02d}.{1000 + self.generation}"
        for name, content in payload.items():
            target = self.root / version / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        data = self.root / "..data"
        old = self.root / os.readlink(data) if data.is_symlink() else None
        os.symlink(version, self.root / "..data_tmp")
        os.rename(self.root / "..data_tmp", data)  # the atomic swap
        for name in payload:
            top = name.split("/")[0]
            if not (self.root / top).is_symlink():
                os.symlink(f"..data/{top}", self.root / top)
        tops = {name.split("/")[0] for name in payload}
        for entry in self.root.iterdir():
            if not entry.name.startswith("..") and entry.name not in tops:
                entry.unlink()
        if old is not None:
            shutil.rmtree(old)


class Base(unittest.TestCase):
    def setUp(self):
        self.temp = pathlib.Path(tempfile.mkdtemp(prefix="sync-profiles-"))
        self.addCleanup(shutil.rmtree, self.temp, ignore_errors=True)
        self.source = self.temp / "catalog"
        self.dest = self.temp / "seccomp-gate"

    def catalog(self, files):
        """Makes --from a plain directory holding exactly `files` ({relative path: bytes})."""
        shutil.rmtree(self.source, ignore_errors=True)
        for name, content in files.items():
            path = self.source / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    def installed(self):
        """{relative path: bytes} of every file in --to but the state file."""
        return {str(path.relative_to(self.dest)): path.read_bytes()
                for path in sorted(self.dest.rglob("*"))
                if path.is_file() and not path.name.startswith(".seccomp-gate-")}

    def state(self):
        return json.loads((self.dest / STATE_FILE).read_text())


class Help(unittest.TestCase):
    def test_help(self):
        result = run("--help")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stderr, b"")
        text = result.stdout.decode()
        self.assertTrue(text.startswith("usage: seccomp-gate sync-profiles --from DIR --to DIR"))
        for needle in ("--watch", "--interval SECONDS", STATE_FILE, "last good copy",
                       "never removed", "exit: 0 in sync, 1 some profiles were rejected"):
            self.assertIn(needle, text)

    def test_listed_in_the_main_help(self):
        result = subprocess.run([BINARY, "--help"], capture_output=True, check=False)
        self.assertIn(b"sync-profiles", result.stdout)


class UsageErrors(Base):
    def assert_usage_error(self, args, needle):
        result = run(*args)
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 2, stderr)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(stderr.count("\n"), 1, stderr)
        self.assertIn(needle, stderr)
        self.assertFalse(self.dest.exists(), "a usage error must not touch --to")

    def test_usage_errors(self):
        self.catalog({"web.json": profile("web.json")})
        cases = [
            (["--from", self.source], "--to is required"),
            (["--to", self.dest], "--from is required"),
            (["--from", self.source, "--to", self.dest, "--bogus"], "unknown option --bogus"),
            (["--from", self.source, "--to", self.dest, "extra"], 'unexpected argument "extra"'),
            (["--from", self.source, "--to", self.dest, "--interval", "5"],
             "--interval needs --watch"),
            (["--from", self.source, "--to", self.dest, "--watch", "--interval", "0"],
             "--interval must be a whole number of seconds"),
            (["--from", self.source, "--to", self.dest, "--watch", "--interval", "1x"],
             "--interval must be a whole number of seconds"),
            (["--from", self.source, "--to", self.dest, "--watch", "--dry-run"],
             "--dry-run cannot be used with --watch"),
            (["--from", self.source, "--to", "/"], "--to must not be the root directory"),
            (["--from", self.source, "--to", self.source / "sub"], "must not be inside one another"),
            (["--from", self.temp, "--to", self.dest], "must not be inside one another"),
            (["--from", self.source, "--to", self.dest, "--health-file", self.temp / "h"],
             "--health-file needs --watch"),
            (["--from", self.source, "--to", self.dest, "--watch", "--health-file",
              self.source / "health"], "must not be inside --from or --to"),
            (["--from", self.source, "--to", self.dest, "--watch", "--health-file",
              self.dest / "health"], "must not be inside --from or --to"),
            (["--from", self.source, "--to", self.dest, "--max-age", "5m"],
             "--max-age needs --check-health"),
            (["--check-health", self.temp / "h", "--from", self.source],
             "--check-health cannot be used with --from"),
            (["--check-health", self.temp / "h", "--watch"],
             "--check-health cannot be used with --watch"),
            (["--check-health", self.temp / "h", "--max-age", "5x"],
             "--max-age must be a duration from 1s to 168h"),
            (["--check-health", self.temp / "h", "--max-age", "0"],
             "--max-age must be a duration from 1s to 168h"),
        ]
        for args, needle in cases:
            with self.subTest(args=[str(a) for a in args]):
                self.assert_usage_error(args, needle)

    def test_unreadable_from(self):
        result = run("--from", self.temp / "missing", "--to", self.dest)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.decode().count("\n"), 1)
        self.assertIn(str(self.temp / "missing"), result.stderr.decode())

    def test_from_a_regular_file(self):
        (self.temp / "a-file").write_bytes(profile("web.json"))
        result = run("--from", self.temp / "a-file", "--to", self.dest)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.decode(),
                         f"seccomp-gate sync-profiles: {self.temp / 'a-file'}: is not a directory\n")

    def test_unusable_to(self):
        self.catalog({"web.json": profile("web.json")})
        result = run("--from", self.source, "--to", self.temp / "no-kubelet/seccomp/seccomp-gate")
        self.assertEqual(result.returncode, 2)
        self.assertIn("parent directory does not exist", result.stderr.decode())
        (self.temp / "a-file").write_bytes(b"x")
        result = run("--from", self.source, "--to", self.temp / "a-file")
        self.assertEqual(result.returncode, 2)
        self.assertIn(str(self.temp / "a-file"), result.stderr.decode())


class OneShot(Base):
    def test_install_then_in_sync(self):
        files = {"web.json": profile("web.json"), "default.json": profile("default.json"),
                 "team/audit.json": profile("audit.json")}
        self.catalog(files)
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"")
        self.assertIn(b"3 installed, 0 updated, 0 removed, 0 unchanged, 0 rejected", result.stderr)
        self.assertEqual(self.installed(), files)
        self.assertEqual(sorted(self.state()["files"]), sorted(files))
        self.assertEqual((self.dest / "web.json").stat().st_mode & 0o7777, 0o644)
        self.assertEqual((self.dest / "team").stat().st_mode & 0o7777, 0o755)

        before = (self.dest / "web.json").stat()
        again = run("--from", self.source, "--to", self.dest)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn(b"0 installed, 0 updated, 0 removed, 3 unchanged", again.stderr)
        after = (self.dest / "web.json").stat()
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))

    def test_rejected_profile_exit_1_and_last_good_copy_kept(self):
        self.catalog({"web.json": profile("web.json"), "default.json": profile("default.json")})
        self.assertEqual(run("--from", self.source, "--to", self.dest).returncode, 0)
        (self.source / "web.json").write_bytes(BROKEN)
        (self.source / "new.json").write_bytes(b"{ not json")
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.decode().splitlines()
        rejected = [line for line in lines if ": rejected: " in line]
        self.assertEqual(len(rejected), 2, lines)
        self.assertIn(f"{self.source / 'new.json'}: rejected: ", rejected[0])
        self.assertIn("JSON", rejected[0])
        self.assertTrue(rejected[0].endswith("; not installed"), rejected[0])
        self.assertIn(f"{self.source / 'web.json'}: rejected: ", rejected[1])
        self.assertIn("SCMP_ACT_PERMIT", rejected[1])
        self.assertTrue(rejected[1].endswith("; the copy installed earlier stays"), rejected[1])
        self.assertEqual(self.installed(), {"web.json": profile("web.json"),
                                            "default.json": profile("default.json")})

    def test_removal_spares_files_it_did_not_install(self):
        self.dest.mkdir()
        (self.dest / "someone-else.json").write_bytes(profile("audit.json"))
        self.catalog({"web.json": profile("web.json"), "default.json": profile("default.json")})
        self.assertEqual(run("--from", self.source, "--to", self.dest).returncode, 0)
        self.catalog({"web.json": profile("web.json")})
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"1 removed", result.stderr)
        self.assertEqual(self.installed(), {"web.json": profile("web.json"),
                                            "someone-else.json": profile("audit.json")})

    def test_empty_catalog_refused_unless_allowed(self):
        self.catalog({"web.json": profile("web.json")})
        self.assertEqual(run("--from", self.source, "--to", self.dest).returncode, 0)
        self.catalog({})
        self.source.mkdir()
        refused = run("--from", self.source, "--to", self.dest)
        self.assertEqual(refused.returncode, 2)
        self.assertIn(b"--allow-empty", refused.stderr)
        self.assertEqual(self.installed(), {"web.json": profile("web.json")})
        allowed = run("--from", self.source, "--to", self.dest, "--allow-empty")
        self.assertEqual(allowed.returncode, 0, allowed.stderr)
        self.assertEqual(self.installed(), {})

    def test_dry_run(self):
        self.catalog({"web.json": profile("web.json"), "bad.json": BROKEN})
        result = run("--from", self.source, "--to", self.dest, "--dry-run")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, b"install web.json\n")
        self.assertIn(b"dry run: 1 installed", result.stderr)
        self.assertEqual(self.installed(), {})

    def test_a_destination_directory_swapped_for_a_symlink_counts_once(self):
        files = {"web.json": profile("web.json"), "team/api.json": profile("default.json")}
        self.catalog(files)
        self.assertEqual(run("--from", self.source, "--to", self.dest).returncode, 0)
        elsewhere = self.temp / "elsewhere"
        (self.dest / "team").rename(elsewhere)
        (self.dest / "team").symlink_to(elsewhere)
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.decode().splitlines()
        self.assertEqual(lines, [
            f"seccomp-gate sync-profiles: {self.dest / 'team/api.json'}: cannot create its "
            "directory: a component of the path is a symlink or not a directory (never followed)",
            f"seccomp-gate sync-profiles: {self.dest}: 0 installed, 0 updated, 0 removed, "
            "1 unchanged, 0 rejected, 1 failed"])

        # The same when the sync never installed it (no state file): no garbled "replaces ..."
        # warning, and still counted once.
        (self.dest / STATE_FILE).unlink()
        again = run("--from", self.source, "--to", self.dest)
        self.assertEqual(again.returncode, 2, again.stderr)
        self.assertNotIn(b"replaces", again.stderr)
        self.assertIn(b": 0 installed, 0 updated, 0 removed, 1 unchanged, 0 rejected, 1 failed\n",
                      again.stderr)
        self.assertEqual(list(elsewhere.iterdir()), [elsewhere / "api.json"])

    def test_replacing_a_symlink_is_said_plainly(self):
        self.dest.mkdir()
        (self.dest / "web.json").symlink_to(self.temp / "target.json")
        self.catalog({"web.json": profile("web.json")})
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"seccomp-gate sync-profiles: warning: {self.dest / 'web.json'}: replaces a "
                      "symlink\n", result.stderr.decode())
        self.assertIn(b": 0 installed, 1 updated,", result.stderr)
        self.assertEqual(self.installed(), {"web.json": profile("web.json")})

    def test_configmap_mount(self):
        mount = ConfigMapMount(self.source)
        mount.update({"web.json": profile("web.json"), "default.json": profile("default.json")})
        self.assertEqual(run("--from", self.source, "--to", self.dest).returncode, 0)
        mount.update({"web.json": profile("audit.json")})
        result = run("--from", self.source, "--to", self.dest)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"0 installed, 1 updated, 1 removed, 0 unchanged", result.stderr)
        self.assertEqual(self.installed(), {"web.json": profile("audit.json")})


class NoPrivilege(Base):
    """The DaemonSet's pod needs nothing but the hostPath mount: uid 0 with no capability at all."""

    def setUp(self):
        super().setUp()
        self.setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or self.setpriv is None:
            self.skipTest("needs root and setpriv (util-linux) to drop every capability")

    def unprivileged(self, *args):
        return [self.setpriv, "--no-new-privs", "--inh-caps=-all", "--ambient-caps=-all",
                "--bounding-set=-all", "--", BINARY, "sync-profiles", *[str(a) for a in args]]

    def test_sync_and_watch_without_capabilities(self):
        mount = ConfigMapMount(self.source)
        mount.update({"web.json": profile("web.json")})
        self.dest.mkdir(mode=0o755)
        (self.dest / "foreign.json").write_bytes(b"someone else's")
        os.chmod(self.dest / "foreign.json", 0o600)
        result = subprocess.run(self.unprivileged("--from", self.source, "--to", self.dest),
                                capture_output=True, timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(read_or_none(self.dest / "web.json"), profile("web.json"))

        log = open(self.temp / "watch.log", "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            self.unprivileged("--from", self.source, "--to", self.dest, "--watch"),
            stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))
        log_path = self.temp / "watch.log"
        wait_until(lambda: b'"profiles synced"' in log_path.read_bytes(), "the first sync")
        mount.update({"web.json": profile("default.json"), "audit.json": profile("audit.json")})
        wait_until(lambda: read_or_none(self.dest / "audit.json") == profile("audit.json") and
                   read_or_none(self.dest / "web.json") == profile("default.json"),
                   "the swapped catalog installed without capabilities")
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=DEADLINE_SECONDS), 0)
        self.assertEqual(read_or_none(self.dest / "foreign.json"), b"someone else's")


class Watch(Base):
    def start(self, *extra):
        self.log_path = self.temp / "watch.log"
        log = open(self.log_path, "wb")  # a file, not a pipe: nothing can block on a full pipe
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [BINARY, "sync-profiles", "--from", str(self.source), "--to", str(self.dest),
             "--watch", *[str(a) for a in extra]],
            stdout=subprocess.DEVNULL, stderr=log)

        def stop():
            if process.poll() is None:
                process.kill()
                process.wait()
        self.addCleanup(stop)
        return process

    def log_lines(self):
        # Only whole lines: the last one may be being written.
        lines = self.log_path.read_text().split("\n")[:-1]
        return [json.loads(line) for line in lines if line]

    def stop(self, process, sig=signal.SIGTERM):
        process.send_signal(sig)
        self.assertEqual(process.wait(timeout=DEADLINE_SECONDS), 0)
        self.assertEqual(self.log_lines()[-1]["msg"], "stopping")

    def test_follows_configmap_swaps(self):
        mount = ConfigMapMount(self.source)
        first = {"web.json": profile("web.json"), "default.json": profile("default.json")}
        mount.update(first)
        # A periodic re-sync an hour away: only inotify can explain a prompt update.
        process = self.start("--interval", "3600")
        wait_until(lambda: self.installed() == first, "the first sync")

        second = {"web.json": profile("audit.json"), "audit.json": profile("audit.json"),
                  "team/api.json": profile("web.json")}
        mount.update(second)
        wait_until(lambda: read_or_none(self.dest / "team/api.json") == profile("web.json") and
                   self.installed() == second, "the swapped catalog installed")

        third = {"web.json": profile("audit.json")}
        mount.update(third)
        # The emptied directory goes too (the poll may look between the unlink and the rmdir).
        wait_until(lambda: self.installed() == third and not (self.dest / "team").exists(),
                   "removed profiles and their emptied directory gone")

        self.stop(process)
        lines = self.log_lines()
        self.assertEqual(lines[0]["msg"], "watching")
        synced = [line for line in lines if line["msg"] == "profiles synced"]
        self.assertEqual(synced[0]["trigger"], "start")
        self.assertEqual(synced[0]["installed"], 2)
        self.assertTrue(all(line["trigger"] == "change" for line in synced[1:]), synced)
        self.assertEqual(sum(line["removed"] for line in synced), 3)  # default, audit, team/api
        for line in lines:
            self.assertEqual(set(line) >= {"time", "level", "msg"}, True, line)

    def test_bad_edit_keeps_the_last_good_copy(self):
        mount = ConfigMapMount(self.source)
        mount.update({"web.json": profile("web.json")})
        process = self.start("--interval", "3600")
        wait_until(lambda: self.installed() == {"web.json": profile("web.json")}, "first sync")
        mount.update({"web.json": BROKEN})

        def rejected():
            return [line for line in self.log_lines() if line["msg"] == "profile rejected"]
        wait_until(rejected, "a 'profile rejected' log line")
        line = rejected()[0]
        self.assertEqual(line["level"], "warn")
        self.assertEqual(line["file"], str(self.source / "web.json"))
        self.assertIn("SCMP_ACT_PERMIT", line["reason"])
        self.assertIs(line["kept_installed_copy"], True)
        self.assertEqual(self.installed(), {"web.json": profile("web.json")})
        self.assertEqual(process.poll(), None, "a rejected profile must not stop the watch")
        self.stop(process, signal.SIGINT)

    def test_periodic_resync_repairs_the_destination(self):
        self.catalog({"web.json": profile("web.json")})
        process = self.start("--interval", "1")
        wait_until(lambda: self.installed() == {"web.json": profile("web.json")}, "first sync")
        # Nothing under --from changes, so no inotify event: only the periodic re-sync can notice.
        (self.dest / "web.json").unlink()
        wait_until(lambda: read_or_none(self.dest / "web.json") == profile("web.json"),
                   "web.json reinstalled by the periodic re-sync")
        self.stop(process)
        self.assertIn("interval", [line.get("trigger") for line in self.log_lines()])

    def test_plain_directory_nested_change(self):
        self.catalog({"team/web.json": profile("web.json")})
        process = self.start("--interval", "3600")
        wait_until(lambda: self.installed() == {"team/web.json": profile("web.json")},
                   "first sync")
        # Changes deep in a plain tree, in a directory that exists and one that is new.
        (self.source / "team/web.json").write_bytes(profile("default.json"))
        (self.source / "new/deeper").mkdir(parents=True)
        (self.source / "new/deeper/audit.json").write_bytes(profile("audit.json"))
        wait_until(lambda: self.installed() == {"team/web.json": profile("default.json"),
                                                "new/deeper/audit.json": profile("audit.json")},
                   "nested changes installed")
        self.stop(process)

    def test_unchanged_files_are_not_checked_again(self):
        self.catalog({"web.json": profile("web.json"), "default.json": profile("default.json"),
                      "bad.json": BROKEN})
        process = self.start("--interval", "1")

        def synced(trigger):
            return [line for line in self.log_lines()
                    if line["msg"] == "profiles synced" and line["trigger"] == trigger]
        wait_until(lambda: synced("interval"), "a periodic re-sync")
        first = synced("start")[0]
        self.assertEqual((first["checked"], first["cached"]), (3, 0))
        periodic = synced("interval")[0]
        self.assertEqual((periodic["checked"], periodic["cached"]), (0, 3), periodic)
        self.assertEqual((periodic["unchanged"], periodic["rejected"]), (2, 1), periodic)

        # Replaced whole (rename), so that no sync can see it half written.
        (self.temp / "web.json.new").write_bytes(profile("audit.json"))
        os.replace(self.temp / "web.json.new", self.source / "web.json")

        def updates():
            return [line for line in self.log_lines()
                    if line["msg"] == "profiles synced" and line["updated"] > 0]
        wait_until(updates, "the sync that installs the change")
        change = updates()[0]  # by inotify or by the periodic re-sync, whichever came first
        self.assertEqual((change["checked"], change["cached"], change["updated"]), (1, 2, 1), change)
        self.stop(process)

    def test_health_file_for_a_liveness_probe(self):
        self.catalog({"web.json": profile("web.json")})
        health = self.temp / "health"
        process = self.start("--interval", "1", "--health-file", health)
        wait_until(lambda: health.exists(), "the health file")
        written = json.loads(health.read_text())["boottime_ms"]
        probe = run("--check-health", health, "--max-age", "5m")
        self.assertEqual((probe.returncode, probe.stdout, probe.stderr), (0, b"", b""))
        # Rewritten after every sync: the periodic re-sync moves it on.
        wait_until(lambda: json.loads(health.read_text())["boottime_ms"] > written,
                   "the health file rewritten")
        self.assertEqual([p.name for p in self.temp.iterdir() if p.name.startswith(".health")], [])
        self.stop(process)

    def test_check_health_of_a_stale_missing_or_foreign_file(self):
        health = self.temp / "health"
        missing = run("--check-health", health)
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b"unhealthy: ", missing.stderr)
        self.assertIn(b"no health file", missing.stderr)
        now_ms = int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000)
        health.write_text(json.dumps({"boottime_ms": now_ms - 600_000}))
        stale = run("--check-health", health)  # the default --max-age is 5m
        self.assertEqual(stale.returncode, 1)
        self.assertRegex(stale.stderr.decode(),
                         r"^seccomp-gate sync-profiles: unhealthy: .*/health: last written 60\d s "
                         r"ago, more than 300 s: the sync loop is stuck or gone\n$")
        self.assertEqual(run("--check-health", health, "--max-age", "1h").returncode, 0)
        health.write_text(json.dumps({"boottime_ms": now_ms + 3_600_000}))
        self.assertIn(b"written before this boot", run("--check-health", health).stderr)
        health.write_text("ok")
        self.assertIn(b"not a health file", run("--check-health", health).stderr)

    def test_unwritable_health_file_at_start_exits_2(self):
        self.catalog({"web.json": profile("web.json")})
        process = self.start("--health-file", self.temp / "no-such-dir" / "health")
        self.assertEqual(process.wait(timeout=DEADLINE_SECONDS), 2)
        failed = [line for line in self.log_lines()
                  if line["msg"] == "cannot write the health file"]
        self.assertEqual(len(failed), 1)
        self.assertIn("no-such-dir/health", failed[0]["error"])
        self.assertFalse(self.dest.exists(), "nothing synced")

    def test_unusable_from_at_start_exits_2(self):
        process = self.start()
        self.assertEqual(process.wait(timeout=DEADLINE_SECONDS), 2)
        failed = [line for line in self.log_lines() if line["msg"] == "sync failed"]
        self.assertEqual(len(failed), 1)
        self.assertIn(str(self.source), failed[0]["error"])


if __name__ == "__main__":
    unittest.main()
