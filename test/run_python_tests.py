#!/usr/bin/env python3
"""Runs Python unittest modules for ctest, as `python3 -m unittest -v MODULE...` would, and tells
ctest what was skipped.

usage: run_python_tests.py MODULE...    (run in the directory that holds the modules)

unittest exits 0 when every test was skipped (no root, no runc, ...), so ctest would say Passed
for a file that tested nothing. This runner exits 77 then, which the add_test calls declare as
SKIP_RETURN_CODE, so ctest says Skipped. A file where some tests ran and others were skipped
passes, and ends with one "skipped: TEST: REASON" line per skip before the counts.

exit: 0 every test passed (some may have been skipped), 1 a failure or error, or no test at all,
      77 no test ran and at least one was skipped
"""

import os
import sys
import unittest

EXIT_SKIPPED = 77


class CountingResult(unittest.TextTestResult):
    """TextTestResult that also counts the tests that ran and passed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1


def main(modules):
    if not modules:
        print(next(line for line in __doc__.splitlines() if line.startswith("usage:")),
              file=sys.stderr)
        return 2
    # As `python3 -m unittest`: the modules are imported from the working directory.
    sys.path.insert(0, os.getcwd())
    suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
    result = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    for test, reason in result.skipped:
        print(f"skipped: {test.id()}: {reason}", file=sys.stderr)
    print(f"{result.passed} passed, {failed} failed, {len(result.skipped)} skipped", file=sys.stderr)
    if failed:
        return 1
    if result.passed == 0:
        if result.skipped:
            print("every test was skipped", file=sys.stderr)
            return EXIT_SKIPPED
        print("no test ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
