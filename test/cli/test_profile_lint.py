"""End-to-end tests of `seccomp-gate profile lint` (SPEC.md section 1): exit codes 0/1/2,
--strict, --output json, directories, stdin, and paths that cannot be read, run against the
built binary on test/profiles/ and the shipped examples/catalog.

The messages are the linter's (profile/lint.cpp); test/unit/profile_lint_test.cpp checks each
one, this file checks what a user of the command sees.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = pathlib.Path(
    os.environ.get("SECCOMP_GATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("SECCOMP_GATE", str(SOURCE_DIR / "build/dev/cli/seccomp-gate"))
BAD = "test/profiles/bad"
GOOD = "test/profiles/good"


def lint(*args, stdin=b""):
    return subprocess.run([BINARY, "profile", "lint", *[str(a) for a in args]], input=stdin,
                          capture_output=True, cwd=SOURCE_DIR, timeout=60, check=False)


def lint_json(*args, stdin=b""):
    result = lint("--output", "json", *args, stdin=stdin)
    return result, json.loads(result.stdout)


def json_files(relative):
    return sorted(str(p.relative_to(SOURCE_DIR)) for p in (SOURCE_DIR / relative).rglob("*.json"))


class ExitCodes(unittest.TestCase):

    def test_clean_profiles_exit_0_and_print_nothing(self):
        result = lint("examples/catalog/profiles/default.json", f"{GOOD}/allow-list.json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(result.stderr.decode(), "linted 2 profiles: 0 errors, 0 warnings\n")

    def test_warnings_alone_exit_0_and_1_with_strict(self):
        result = lint("examples/catalog")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.decode(),
            "examples/catalog/profiles/audit.json: defaultAction: warning: is SCMP_ACT_LOG: every "
            "system call no rule names is allowed (and logged), 42 dangerous ones among them "
            "(ptrace, bpf, mount, umount2, unshare, setns, ...) [permissive-default]\n")
        self.assertEqual(lint("--strict", "examples/catalog").returncode, 1)
        self.assertEqual(lint("--strict", "examples/catalog/profiles/web.json").returncode, 0)

    def test_errors_exit_1_and_name_file_field_and_check(self):
        result = lint(f"{BAD}/unknown-syscall.json")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stdout.decode(),
            f'{BAD}/unknown-syscall.json: syscalls[0].names[4]: error: "wirte" is not a system '
            "call on any architecture (libseccomp 2.5.4) [unknown-syscall]\n")
        self.assertEqual(result.stderr.decode(), "linted 1 profiles: 1 errors, 0 warnings\n")

    def test_a_file_that_is_not_json_is_an_error_finding(self):
        result = lint(f"{BAD}/not-json.json")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stdout.decode(),
                         rf"^{BAD}/not-json.json: error: not valid JSON: line 5, column 3: .* "
                         r"\[json\]\n$")

    def test_usage_errors_exit_2(self):
        for args, message in (
                ((), "needs at least one PATH"),
                (("--output", "sarif", GOOD), "--output must be text or json"),
                (("--stritc", GOOD), "unknown option --stritc"),
        ):
            with self.subTest(args=args):
                result = lint(*args)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stdout, b"")
                self.assertIn(f"seccomp-gate profile lint: {message}", result.stderr.decode())
                self.assertIn("(see seccomp-gate profile lint --help)", result.stderr.decode())

    def test_unreadable_paths_exit_2_and_the_others_are_still_linted(self):
        with tempfile.TemporaryDirectory() as tmp:
            dangling = pathlib.Path(tmp, "dangling.json")
            dangling.symlink_to(pathlib.Path(tmp, "nowhere.json"))
            empty_dir = pathlib.Path(tmp, "empty")
            empty_dir.mkdir()
            result = lint(f"{BAD}/arg-op.json", pathlib.Path(tmp, "missing.json"), dangling,
                          empty_dir)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{BAD}/arg-op.json: syscalls[1].args[0].op: error:",
                          result.stdout.decode())
            stderr = result.stderr.decode()
            self.assertIn(f"seccomp-gate profile lint: {tmp}/missing.json: no such file or "
                          "directory\n", stderr)
            self.assertIn(f"{dangling}: no such file or directory\n", stderr)
            self.assertIn(f"{empty_dir}: no files in this directory\n", stderr)
            self.assertIn("linted 1 profiles: 1 errors, 0 warnings, 3 unreadable\n", stderr)

    @unittest.skipIf(os.geteuid() == 0, "root reads a mode-000 file")
    def test_a_file_without_read_permission_exits_2(self):
        with tempfile.TemporaryDirectory() as tmp:
            locked = pathlib.Path(tmp, "locked.json")
            shutil.copy(SOURCE_DIR / GOOD / "allow-list.json", locked)
            locked.chmod(0)
            result = lint(locked)
            self.assertEqual(result.returncode, 2)
            self.assertIn(f"{locked}: cannot open", result.stderr.decode())

    def test_stdin(self):
        result = lint("-", stdin=(SOURCE_DIR / BAD / "arg-index.json").read_bytes())
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stdout.decode().startswith(
            "<stdin>: syscalls[1].args[0].index: error: 6 is not an argument index"))

    def test_stdin_is_read_once(self):
        result = lint("-", "-", stdin=(SOURCE_DIR / GOOD / "allow-list.json").read_bytes())
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, b"")
        self.assertIn("seccomp-gate profile lint: - (stdin) can be given once",
                      result.stderr.decode())


class SizeLimit(unittest.TestCase):
    """Files and stdin are read up to the catalog's limit (kMaxProfileBytes, 1 MiB), no more."""

    LIMIT = 1 << 20

    def padded_profile(self, size):
        text = (SOURCE_DIR / GOOD / "allow-list.json").read_bytes()
        return text + b" " * (size - len(text))

    def test_a_profile_of_exactly_the_limit_is_linted_and_one_byte_more_is_not(self):
        with tempfile.TemporaryDirectory() as tmp:
            fits = pathlib.Path(tmp, "fits.json")
            fits.write_bytes(self.padded_profile(self.LIMIT))
            result = lint(fits)
            self.assertEqual(result.returncode, 0, result.stderr)
            over = pathlib.Path(tmp, "over.json")
            over.write_bytes(self.padded_profile(self.LIMIT + 1))
            result = lint(over)
            self.assertEqual(result.returncode, 2)
            self.assertEqual(
                result.stderr.decode(),
                f"seccomp-gate profile lint: {over}: larger than 1048576 bytes, the catalog's "
                "limit for a profile file\nlinted 0 profiles: 0 errors, 0 warnings, 1 unreadable\n")
            # In a directory, as the catalog loader reads it.
            result, document = lint_json(tmp)
            self.assertEqual(result.returncode, 2)
            self.assertEqual(document["files"], [
                {"file": f"{tmp}/fits.json", "errors": 0, "warnings": 0},
                {"file": f"{tmp}/over.json", "errors": 0, "warnings": 0,
                 "read_error": "larger than 1048576 bytes"},
            ])

    def test_stdin_over_the_limit(self):
        result = lint("-", stdin=self.padded_profile(self.LIMIT + 1))
        self.assertEqual(result.returncode, 2)
        self.assertIn("seccomp-gate profile lint: <stdin>: larger than 1048576 bytes",
                      result.stderr.decode())
        result = lint("-", stdin=self.padded_profile(self.LIMIT))
        self.assertEqual(result.returncode, 0, result.stderr)

    @unittest.skipUnless(os.path.exists("/dev/zero"), "no /dev/zero")
    def test_an_endless_file_is_not_read_to_its_end(self):
        result = lint("/dev/zero")
        self.assertEqual(result.returncode, 2)
        self.assertIn("seccomp-gate profile lint: /dev/zero: larger than 1048576 bytes",
                      result.stderr.decode())

    def test_help(self):
        result = lint("--help")
        self.assertEqual(result.returncode, 0)
        text = result.stdout.decode()
        self.assertTrue(text.startswith("usage: seccomp-gate profile lint"))
        for check in ("unknown-syscall", "compile", "dangerous-syscall", "docker-only-key"):
            self.assertIn(f"  {check} ", text)
        top = subprocess.run([BINARY, "profile", "--help"], capture_output=True, check=False)
        self.assertEqual(top.returncode, 0)
        self.assertIn("lint     check profile files", top.stdout.decode())
        bare = subprocess.run([BINARY, "profile"], capture_output=True, check=False)
        self.assertEqual(bare.returncode, 2)
        unknown = subprocess.run([BINARY, "profile", "lnit"], capture_output=True, check=False)
        self.assertEqual(unknown.returncode, 2)
        self.assertIn('unknown command "lnit"', unknown.stderr.decode())


class Directories(unittest.TestCase):

    def test_a_directory_is_linted_recursively_over_json_files_in_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = pathlib.Path(tmp)
            (root / "team" / "deep").mkdir(parents=True)
            shutil.copy(SOURCE_DIR / BAD / "empty-names.json", root / "team/deep/b.json")
            shutil.copy(SOURCE_DIR / GOOD / "allow-list.json", root / "a.json")
            # A ConfigMap mount's internals would list every profile twice.
            (root / "..2024_01_01").mkdir()
            shutil.copy(SOURCE_DIR / BAD / "arg-op.json", root / "..2024_01_01/x.json")
            result, document = lint_json(tmp)
            self.assertEqual(result.returncode, 1)
            self.assertEqual([f["file"] for f in document["files"]],
                             [f"{tmp}/a.json", f"{tmp}/team/deep/b.json"])

    def test_a_directory_is_read_as_the_catalog_reads_it(self):
        # A ConfigMap mount: every item is a symlink into ..data, nested items (items[].path:
        # team/api.json) a symlinked directory; the catalog takes every file, whatever its name.
        with tempfile.TemporaryDirectory() as tmp:
            root = pathlib.Path(tmp)
            data = root / "..2024_01_01"
            (data / "team").mkdir(parents=True)
            shutil.copy(SOURCE_DIR / GOOD / "allow-list.json", data / "web.json")
            shutil.copy(SOURCE_DIR / BAD / "arg-op.json", data / "team/api.json")
            (data / "README").write_text("not a profile")
            (root / "..data").symlink_to("..2024_01_01")
            for item in ("web.json", "team", "README"):
                (root / item).symlink_to(f"..data/{item}")
            result, document = lint_json(tmp)
            self.assertEqual(result.returncode, 1)
            self.assertEqual([(f["file"], f["errors"]) for f in document["files"]],
                             [(f"{tmp}/README", 1), (f"{tmp}/team/api.json", 1),
                              (f"{tmp}/web.json", 0)])
            self.assertEqual([(f["file"], f["check"]) for f in document["findings"]],
                             [(f"{tmp}/README", "json"), (f"{tmp}/team/api.json", "arg-op")])

    def test_a_file_named_on_the_command_line_is_linted_whatever_its_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            profile = pathlib.Path(tmp, "profile.txt")
            shutil.copy(SOURCE_DIR / BAD / "arg-op.json", profile)
            result = lint(profile)
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"{profile}: syscalls[1].args[0].op: error:", result.stdout.decode())

    def test_the_bad_corpus_is_all_errors_and_the_good_one_has_none(self):
        result, document = lint_json(BAD)
        self.assertEqual(result.returncode, 1)
        self.assertEqual([f["file"] for f in document["files"]], json_files(BAD))
        for entry in document["files"]:
            self.assertGreaterEqual(entry["errors"], 1, entry["file"])

        result, document = lint_json(GOOD, "examples/catalog")
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertEqual(document["summary"]["errors"], 0)
        self.assertEqual(lint("--strict", GOOD).returncode, 1)  # docker-default.json warns


class JsonOutput(unittest.TestCase):

    def test_the_document(self):
        with tempfile.TemporaryDirectory() as tmp:
            missing = f"{tmp}/missing.json"
            result, document = lint_json(f"{BAD}/contradictory-rules.json",
                                         "examples/catalog/profiles/audit.json", missing)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(document["summary"],
                         {"files": 3, "errors": 1, "warnings": 1, "unreadable": 1})
        self.assertEqual(document["files"], [
            {"file": f"{BAD}/contradictory-rules.json", "errors": 1, "warnings": 0},
            {"file": "examples/catalog/profiles/audit.json", "errors": 0, "warnings": 1},
            {"file": missing, "errors": 0, "warnings": 0,
             "read_error": "no such file or directory"},
        ])
        self.assertEqual(document["findings"][0], {
            "file": f"{BAD}/contradictory-rules.json",
            "field": "syscalls[2].names[0]",
            "severity": "error",
            "check": "contradictory-rules",
            "message": '"openat" is SCMP_ACT_ERRNO (errnoRet 13) here but SCMP_ACT_ALLOW in '
                       "syscalls[1].names[0], both without argument conditions: the runtime "
                       "keeps only one of them",
        })
        self.assertEqual(document["findings"][1]["check"], "permissive-default")
        self.assertEqual(document["findings"][1]["severity"], "warning")
        self.assertEqual(list(document), ["summary", "files", "findings"])

    def test_strict_json_exit_code(self):
        result, document = lint_json("--strict", f"{GOOD}/docker-default.json")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(document["summary"]["errors"], 0)
        self.assertEqual(document["summary"]["warnings"], 11)
        checks = {f["check"] for f in document["findings"]}
        self.assertEqual(checks, {"docker-only-key", "dangerous-syscall", "no-architectures"})


if __name__ == "__main__":
    unittest.main()
