"""End-to-end tests of `seccomp-gate profile try` and `seccomp-gate profile record` (SPEC.md
section 1), run against the built binary on this kernel: real filters, real commands, real
refusals.
"""

import json
import os
import pathlib
import platform
import shutil
import signal
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
CATALOG = SOURCE_DIR / "examples/catalog/profiles"
# An allow-list profile of the catalog that allows what a shell needs but neither mkdir nor mkdirat.
WEB_PROFILE = CATALOG / "web.json"
# The catalog's audit profile: defaultAction SCMP_ACT_LOG, no rules.
AUDIT_PROFILE = CATALOG / "audit.json"

SH = shutil.which("sh") or "/bin/sh"
LS = shutil.which("ls") or "/bin/ls"
MKDIR = shutil.which("mkdir") or "/bin/mkdir"

# What runtimes list for this machine (Docker's and containers-common's archMap).
MACHINE_ARCHITECTURES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


# seccomp-gate's own failures under try and record (usage, profile, output), told apart from the
# command's exit statuses (2 included) as timeout(1) and `docker run` do.
OWN_FAILURE = 125

# The largest profile file that the catalog, `profile lint` and `profile try` read
# (kMaxProfileBytes in policy/io/files.h).
MAX_PROFILE_BYTES = 1 << 20


def run(args, cwd=None, env=None):
    return subprocess.run([BINARY, *[str(a) for a in args]], capture_output=True, cwd=cwd,
                          env=env, timeout=120, check=False)


# For a seccomp-gate that runs under another one's ptrace: LeakSanitizer (asan preset) cannot
# work in a traced process and would turn every exit into a failure.
TRACED_ENV = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0"}


def write_profile(directory, name, profile):
    path = pathlib.Path(directory) / name
    path.write_text(json.dumps(profile))
    return path


def allow_all_but(action, names, errno_ret=None):
    rule = {"names": names, "action": action}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}


class TmpDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="seccomp-gate-try-")
        self.tmp = pathlib.Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()


class TryTest(TmpDirTest):
    def test_allow_list_without_mkdir_blocks_mkdir_in_a_shell(self):
        target = self.tmp / "made-by-sh"
        result = run(["profile", "try", "--profile", WEB_PROFILE, "--",
                      SH, "-c", f"mkdir {target}"])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 1, stderr)
        self.assertFalse(target.exists())
        # mkdir(1)'s own message: the kernel answered the profile's errno (EPERM).
        self.assertIn("Operation not permitted", stderr)
        self.assertIn("exited with status 1", stderr)
        self.assertIn("the profile refused 1 system call", stderr)
        self.assertIn("\n  mkdir: SCMP_ACT_ERRNO(EPERM), 1 time\n", stderr)

    def test_audit_profile_lets_mkdir_through_and_reports_it_logged(self):
        target = self.tmp / "made-under-audit"
        result = run(["profile", "try", "--profile", AUDIT_PROFILE, "--",
                      SH, "-c", f"mkdir {target}"])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 0, stderr)
        self.assertTrue(target.is_dir())
        self.assertIn("exited with status 0", stderr)
        self.assertIn("the profile refused no system call", stderr)
        logged = [line for line in stderr.splitlines() if "(SCMP_ACT_LOG)" in line]
        self.assertEqual(len(logged), 1, stderr)
        self.assertIn("mkdir", logged[0].split(": ", 2)[2].split(", "))

    def test_report_goes_to_stderr_and_the_commands_stdout_stays_clean(self):
        result = run(["profile", "try", "--profile", WEB_PROFILE, "--", SH, "-c", "echo out"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"out\n")
        self.assertIn(b"exited with status 0", result.stderr)

    def test_exit_status_of_the_command_is_the_exit_code(self):
        result = run(["profile", "try", "--profile", WEB_PROFILE, "--", SH, "-c", "exit 7"])
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertIn(b"exited with status 7", result.stderr)

    def test_specific_errno_reaches_the_command(self):
        profile = write_profile(self.tmp, "eacces.json",
                                allow_all_but("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"], 13))
        target = self.tmp / "denied"
        result = run(["profile", "try", "--profile", profile, "--", MKDIR, target])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 1, stderr)
        self.assertFalse(target.exists())
        self.assertIn("Permission denied", stderr)
        self.assertRegex(stderr, r"\n  mkdir(at)?: SCMP_ACT_ERRNO\(EACCES\), 1 time\n")

    def test_kill_action_ends_the_command_with_sigsys_and_names_the_call(self):
        profile = write_profile(self.tmp, "kill.json",
                                allow_all_but("SCMP_ACT_KILL_PROCESS", ["mkdir", "mkdirat"]))
        target = self.tmp / "killed"
        result = run(["profile", "try", "--profile", profile, "--", MKDIR, target])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 128 + signal.SIGSYS, stderr)
        self.assertFalse(target.exists())
        self.assertIn("killed by signal SIGSYS", stderr)
        self.assertRegex(stderr, r"\n  mkdir(at)?: SCMP_ACT_KILL_PROCESS, 1 time\n")

    def test_trap_action_names_the_call(self):
        profile = write_profile(self.tmp, "trap.json",
                                allow_all_but("SCMP_ACT_TRAP", ["mkdir", "mkdirat"]))
        result = run(["profile", "try", "--profile", profile, "--", MKDIR, self.tmp / "trapped"])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 128 + signal.SIGSYS, stderr)
        self.assertRegex(stderr, r"\n  mkdir(at)?: SCMP_ACT_TRAP, 1 time\n")

    def test_calls_of_child_processes_are_judged_too(self):
        # The refused mkdir happens in a child of the shell; the shell itself succeeds.
        target = self.tmp / "from-a-child"
        result = run(["profile", "try", "--profile", WEB_PROFILE, "--",
                      SH, "-c", f"{MKDIR} {target}; exit 0"])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 0, stderr)
        self.assertFalse(target.exists())
        self.assertIn("\n  mkdir: SCMP_ACT_ERRNO(EPERM), 1 time\n", stderr)

    def test_a_profile_that_refuses_execve_is_reported(self):
        profile = write_profile(self.tmp, "noexec.json",
                                allow_all_but("SCMP_ACT_ERRNO", ["execve", "execveat"]))
        result = run(["profile", "try", "--profile", profile, "--", LS, "/"])
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 126, stderr)
        self.assertEqual(result.stdout, b"")
        self.assertIn("could not be run: execvp: Operation not permitted", stderr)
        self.assertIn("\n  execve: SCMP_ACT_ERRNO(EPERM), 1 time\n", stderr)

    def test_command_not_found(self):
        result = run(["profile", "try", "--profile", WEB_PROFILE, "--",
                      "seccomp-gate-no-such-command"])
        self.assertEqual(result.returncode, 127, result.stderr)
        self.assertIn(b"could not be run: execvp: No such file or directory", result.stderr)

    def test_where_ptrace_is_refused_the_command_still_runs_under_the_filter(self):
        # The outer try confines the inner seccomp-gate with a profile refusing ptrace.
        no_ptrace = write_profile(self.tmp, "no-ptrace.json",
                                  allow_all_but("SCMP_ACT_ERRNO", ["ptrace"]))
        target = self.tmp / "untraced"
        result = run(["profile", "try", "--profile", no_ptrace, "--",
                      BINARY, "profile", "try", "--profile", WEB_PROFILE, "--", MKDIR, target],
                     env=TRACED_ENV)
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, 1, stderr)
        self.assertFalse(target.exists(), "the inner profile was still enforced")
        self.assertIn("warning: cannot trace the command (ptrace(PTRACE_SEIZE): Operation not "
                      "permitted): refused calls are not known", stderr)
        self.assertIn("\n  ptrace: SCMP_ACT_ERRNO(EPERM), 1 time\n", stderr)

        output = self.tmp / "never.json"
        record = run(["profile", "try", "--profile", no_ptrace, "--",
                      BINARY, "profile", "record", "--output", output, "--", LS, "/"],
                     env=TRACED_ENV)
        self.assertEqual(record.returncode, OWN_FAILURE, record.stderr)
        self.assertIn(b"seccomp-gate profile record: ptrace(PTRACE_SEIZE): Operation not permitted",
                      record.stderr)
        self.assertFalse(output.exists())
        self.assertFalse([p for p in self.tmp.iterdir() if p.name.startswith(".never.json")],
                         "the temporary file made before the run is removed")


class TryUsageTest(TmpDirTest):
    def assert_usage_error(self, result, *needles):
        stderr = result.stderr.decode()
        self.assertEqual(result.returncode, OWN_FAILURE, stderr)
        self.assertEqual(result.stdout, b"")
        for line in stderr.splitlines():
            self.assertTrue(line.startswith("seccomp-gate profile try: "), stderr)
        for needle in needles:
            self.assertIn(needle, stderr)

    def test_missing_dashes(self):
        self.assert_usage_error(run(["profile", "try", "--profile", WEB_PROFILE, LS, "/"]),
                                "the command goes after --")

    def test_missing_command(self):
        self.assert_usage_error(run(["profile", "try", "--profile", WEB_PROFILE, "--"]),
                                "no command")

    def test_missing_profile_option(self):
        self.assert_usage_error(run(["profile", "try", "--", LS, "/"]), "--profile is required")

    def test_profile_file_that_does_not_exist(self):
        missing = self.tmp / "missing.json"
        result = run(["profile", "try", "--profile", missing, "--", LS])
        self.assert_usage_error(result, str(missing))
        self.assertEqual(result.stderr.decode(),
                         f"seccomp-gate profile try: {missing}: cannot open: "
                         "No such file or directory\n")

    def test_own_failure_is_told_from_the_commands_exit_2(self):
        # The command's 2 is passed through; seccomp-gate's own failure is not 2.
        command = run(["profile", "try", "--profile", WEB_PROFILE, "--", SH, "-c", "exit 2"])
        self.assertEqual(command.returncode, 2, command.stderr)
        usage = run(["profile", "try", "--profile", WEB_PROFILE, "--bogus", "--", SH, "-c", "exit 2"])
        self.assertEqual(usage.returncode, OWN_FAILURE, usage.stderr)
        self.assertIn(b"seccomp-gate profile try: unknown option --bogus (see seccomp-gate "
                      b"profile try --help)", usage.stderr)

    def test_profile_with_lint_errors_is_refused_and_nothing_runs(self):
        profile = write_profile(self.tmp, "bad.json",
                                {"defaultAction": "SCMP_ACT_ALLOWW", "syscalls": []})
        target = self.tmp / "must-not-exist"
        result = run(["profile", "try", "--profile", profile, "--", MKDIR, target])
        self.assert_usage_error(result, f"{profile}: defaultAction", "lint errors")
        self.assertFalse(target.exists())

    def test_profile_that_is_not_json(self):
        profile = self.tmp / "garbage.json"
        profile.write_text("{ not json")
        self.assert_usage_error(run(["profile", "try", "--profile", profile, "--", LS]),
                                str(profile), "lint errors")

    def test_profile_larger_than_the_catalogs_limit_is_refused_and_nothing_runs(self):
        # A valid profile padded past the limit of the catalog and of `profile lint`
        # (kMaxProfileBytes, policy/io/files.h): refused by name and limit, as lint refuses it.
        text = json.dumps(allow_all_but("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"]))
        profile = self.tmp / "padded.json"
        profile.write_text(text + " " * (MAX_PROFILE_BYTES + 1 - len(text)))
        target = self.tmp / "must-not-exist"
        result = run(["profile", "try", "--profile", profile, "--", MKDIR, target])
        too_large = (f"{profile}: larger than {MAX_PROFILE_BYTES} bytes, the catalog's limit for "
                     "a profile file")
        self.assert_usage_error(result)
        self.assertEqual(result.stderr.decode(), f"seccomp-gate profile try: {too_large}\n")
        self.assertFalse(target.exists())
        self.assertIn(too_large.encode(), run(["profile", "lint", profile]).stderr)

    def test_profile_of_exactly_the_limit_is_read(self):
        text = json.dumps(allow_all_but("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"]))
        profile = self.tmp / "padded.json"
        profile.write_text(text + " " * (MAX_PROFILE_BYTES - len(text)))
        result = run(["profile", "try", "--profile", profile, "--", SH, "-c", "exit 3"])
        self.assertEqual(result.returncode, 3, result.stderr)

    @unittest.skipUnless(os.path.exists("/dev/zero"), "no /dev/zero")
    def test_endless_profile_file_is_not_read_to_its_end(self):
        result = run(["profile", "try", "--profile", "/dev/zero", "--", LS])
        self.assert_usage_error(result, f"/dev/zero: larger than {MAX_PROFILE_BYTES} bytes")

    def test_help(self):
        for command in ("try", "record"):
            result = run(["profile", command, "--help"])
            self.assertEqual(result.returncode, 0)
            self.assertTrue(result.stdout.startswith(f"usage: seccomp-gate profile {command} ".encode()))
            text = " ".join(result.stdout.decode().split())
            self.assertIn("exit: CMD's own exit status", text)
            self.assertIn("or 125 when seccomp-gate itself failed", text)
            self.assertIn("a CMD that exits 125 (or 126, 127) looks the same", text)


class RecordTest(TmpDirTest):
    def record(self, output, *command):
        return run(["profile", "record", "--output", output, "--", *command])

    def test_record_ls_then_try_the_recorded_profile(self):
        output = self.tmp / "ls.json"
        recorded = self.record(output, LS, "/")
        self.assertEqual(recorded.returncode, 0, recorded.stderr)
        plain_ls = subprocess.run([LS, "/"], capture_output=True, check=True).stdout
        self.assertEqual(recorded.stdout, plain_ls, "the recorded command's stdout is its own")

        profile = json.loads(output.read_text())
        self.assertEqual(profile["defaultAction"], "SCMP_ACT_ERRNO")
        self.assertEqual(profile["defaultErrnoRet"], 1)
        expected_arches = MACHINE_ARCHITECTURES.get(platform.machine())
        if expected_arches:
            self.assertEqual(profile["architectures"], expected_arches)
        self.assertEqual(len(profile["syscalls"]), 1)
        rule = profile["syscalls"][0]
        self.assertEqual(rule["action"], "SCMP_ACT_ALLOW")
        names = rule["names"]
        self.assertEqual(names, sorted(set(names)), "names sorted, each once")
        # What ls does, and what the runtime needs whatever the command does.
        for name in ("getdents64", "write", "exit_group", "execve", "futex", "rt_sigreturn",
                     "capset", "exit"):
            self.assertIn(name, names)
        self.assertNotIn("mkdir", names)
        self.assertNotIn("mkdirat", names)

        lint = run(["profile", "lint", "--output", "json", output])
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
        self.assertEqual(json.loads(lint.stdout)["summary"]["errors"], 0, lint.stdout)

        again = run(["profile", "try", "--profile", output, "--", LS, "/"])
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, plain_ls)
        self.assertIn(b"the profile refused no system call", again.stderr)

        target = self.tmp / "needs-more"
        more = run(["profile", "try", "--profile", output, "--", MKDIR, target])
        self.assertNotEqual(more.returncode, 0, more.stderr)
        self.assertFalse(target.exists())
        self.assertRegex(more.stderr.decode(), r"\n  mkdir(at)?: SCMP_ACT_ERRNO\(EPERM\)")

    def test_calls_of_child_processes_are_recorded(self):
        # The shell never calls mkdir or rmdir itself: only its children do.
        output = self.tmp / "children.json"
        target = self.tmp / "dir"
        result = self.record(output, SH, "-c", f"{MKDIR} {target} && rmdir {target}")
        self.assertEqual(result.returncode, 0, result.stderr)
        names = json.loads(output.read_text())["syscalls"][0]["names"]
        self.assertTrue({"mkdir", "mkdirat"} & set(names), names)
        self.assertTrue({"rmdir", "unlinkat"} & set(names), names)
        self.assertIn("wait4", names)

        again = run(["profile", "try", "--profile", output, "--",
                     SH, "-c", f"{MKDIR} {target} && rmdir {target}"])
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn(b"the profile refused no system call", again.stderr)

    def test_output_is_replaced_atomically(self):
        output = self.tmp / "profile.json"
        output.write_text("old content")
        result = self.record(output, SH, "-c", "true")
        self.assertEqual(result.returncode, 0, result.stderr)
        json.loads(output.read_text())
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["profile.json"],
                         "no temporary file left beside the output")

    def test_failing_command_exit_status_and_profile_still_written(self):
        output = self.tmp / "failing.json"
        result = self.record(output, SH, "-c", "exit 3")
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertIn(b"exited with status 3", result.stderr)
        self.assertIn(b"the command failed", result.stderr)
        self.assertIn("execve", json.loads(output.read_text())["syscalls"][0]["names"])

    def test_command_not_found_writes_nothing(self):
        output = self.tmp / "never.json"
        result = self.record(output, "seccomp-gate-no-such-command")
        self.assertEqual(result.returncode, 127, result.stderr)
        self.assertIn(b"no profile written", result.stderr)
        self.assertEqual(list(self.tmp.iterdir()), [], "nor a temporary file left")

    def test_usage_errors(self):
        output = self.tmp / "usage.json"
        for args, needle in (
            (["profile", "record", "--", LS], "--output is required"),
            (["profile", "record", "--output", output, LS], "the command goes after --"),
            (["profile", "record", "--output", output, "--"], "no command"),
        ):
            result = run(args)
            self.assertEqual(result.returncode, OWN_FAILURE, result.stderr)
            self.assertIn(f"seccomp-gate profile record: {needle}", result.stderr.decode())
        self.assertFalse(output.exists())

    def assert_refused_before_running(self, output, needle):
        # The command would leave a mark: it must never run when the profile cannot be written.
        marker = self.tmp / "ran"
        result = self.record(output, SH, "-c", f"touch {marker}")
        self.assertEqual(result.returncode, OWN_FAILURE, result.stderr)
        self.assertEqual(result.stderr.decode(), f"seccomp-gate profile record: {output}: {needle}\n")
        self.assertFalse(marker.exists(), "the command ran although its profile had nowhere to go")

    def test_unwritable_output_is_refused_before_the_command_runs(self):
        self.assert_refused_before_running(self.tmp / "no-such-dir" / "p.json",
                                           "cannot write there: its directory does not exist")

    def test_output_naming_a_directory_is_refused_before_the_command_runs(self):
        (self.tmp / "sub").mkdir()
        self.assert_refused_before_running(self.tmp / "sub",
                                           "is a directory; --output names the profile file")
        self.assert_refused_before_running(f"{self.tmp / 'new'}/",
                                           "names a directory; --output names the profile file")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["sub"])
        self.assertEqual(list((self.tmp / "sub").iterdir()), [])

    def test_output_dash_writes_the_profile_to_stdout(self):
        result = run(["profile", "record", "--output", "-", "--", SH, "-c", "echo from-the-command"],
                     cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        # stdout is the profile alone; the command's stdout went to stderr, before the report.
        profile = json.loads(result.stdout)
        self.assertEqual(profile["defaultAction"], "SCMP_ACT_ERRNO")
        self.assertIn("execve", profile["syscalls"][0]["names"])
        stderr = result.stderr.decode()
        self.assertTrue(stderr.startswith("from-the-command\n"), stderr)
        self.assertIn("seccomp-gate profile record: wrote the profile to stdout: ", stderr)
        self.assertEqual(list(self.tmp.iterdir()), [], "no file named - (or any other)")

        # A command that fails to start: nothing on stdout.
        missing = run(["profile", "record", "--output", "-", "--", "seccomp-gate-no-such-command"])
        self.assertEqual(missing.returncode, 127, missing.stderr)
        self.assertEqual(missing.stdout, b"")


if __name__ == "__main__":
    unittest.main()
