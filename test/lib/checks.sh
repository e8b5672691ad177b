# shellcheck shell=bash
# The pass/fail bookkeeping of the shell checks (test/manifests/check.sh, test/workflows/check.sh).
# Source it after setting `work` to a scratch directory; read `passed`, `failed` and `skipped`
# at the end.

passed=0
failed=0
skipped=0
pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
skip() {
    echo "SKIP: $*"
    skipped=$((skipped + 1))
}
# check NAME COMMAND...: runs COMMAND, its output shown only when it fails.
check() {
    local name=$1
    shift
    if "$@" >"$work/output" 2>&1; then
        pass "$name"
    else
        fail "$name"
        sed 's/^/    /' "$work/output"
    fi
}
# check_fails NAME MESSAGE COMMAND...: the negative control; COMMAND must fail, and for the reason
# the control is about: each line of MESSAGE must be in its output (stdout and stderr), as it is.
check_fails() {
    local name=$1 message=$2 line
    shift 2
    [ -n "$message" ] || { fail "$name (check_fails without an expected message)"; return; }
    if "$@" >"$work/output" 2>&1; then
        fail "$name (it passed)"
        sed 's/^/    /' "$work/output"
        return
    fi
    while IFS= read -r line; do
        if ! grep -qF -- "$line" "$work/output"; then
            fail "$name (it failed, but without \"$line\")"
            sed 's/^/    /' "$work/output"
            return
        fi
    done <<<"$message"
    pass "$name"
}
# check_the_checks: check_fails itself must refuse a command that fails for another reason than
# the expected one (every negative control relies on it).
check_the_checks() {
    local passed_before=$passed failed_before=$failed caught
    check_fails "self-test" "the expected reason" bash -c 'echo another reason; exit 1' >/dev/null
    caught=$((failed - failed_before))
    passed=$passed_before
    failed=$failed_before
    if [ "$caught" = 1 ]; then
        pass "check_fails refuses a failure that does not say the expected message"
    else
        fail "check_fails passes a failure that does not say the expected message"
    fi
}
