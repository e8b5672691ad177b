#!/usr/bin/env bash
# Offline checks of the deployment: manifests/ (kustomize), certs/generate.sh, the Dockerfile.
# No cluster is needed; kubectl (for `kubectl kustomize`), node with test/manifests/node_modules
# (`npm ci` here, done by .ci/install-deps), openssl and curl are. A missing tool is a failure,
# never a skip.
#
# usage: test/manifests/check.sh     env SECCOMP_GATE: the binary (default build/dev/cli/seccomp-gate)
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 when any check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=${SECCOMP_GATE:-$repo/build/dev/cli/seccomp-gate}
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() {
    echo "PASS: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
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
# check_fails NAME COMMAND...: the negative control; COMMAND must fail.
check_fails() {
    local name=$1
    shift
    if "$@" >"$work/output" 2>&1; then
        fail "$name (it passed)"
        sed 's/^/    /' "$work/output"
    else
        pass "$name"
    fi
}

# Tools: a missing one stops everything with a message saying how to get it.
missing=()
command -v kubectl >/dev/null || missing+=("kubectl (for kubectl kustomize; Debian 12 has no package: install the Kubernetes project's)")
command -v node >/dev/null || missing+=("node (apt-get install nodejs npm)")
command -v openssl >/dev/null || missing+=("openssl")
command -v curl >/dev/null || missing+=("curl")
command -v setpriv >/dev/null || missing+=("setpriv (util-linux)")
[ -d "$here/node_modules/kubernetes-models" ] ||
    missing+=("test/manifests/node_modules (run: npm ci --prefix test/manifests, or .ci/install-deps)")
[ -x "$binary" ] || missing+=("the seccomp-gate binary at $binary (build it, or set SECCOMP_GATE)")
if [ ${#missing[@]} -gt 0 ]; then
    for tool in "${missing[@]}"; do echo "FAIL: missing $tool"; done
    echo "0 passed, ${#missing[@]} failed"
    exit 1
fi
validate() { node "$here/validate.mjs" "$@"; }
invariants() { node "$here/invariants.mjs" "$@"; }

# 1. The catalog shipped in the ConfigMap is the example catalog, file for file.
check "manifests/base/catalog is a copy of examples/catalog/profiles" \
    diff -r "$repo/examples/catalog/profiles" "$repo/manifests/base/catalog"

# 2. The mode components carry the base policy with another `mode:` and nothing else changed.
for component in "$repo"/manifests/components/*-mode; do
    mode=$(basename "$component" -mode)
    check "components/$(basename "$component")/policy.yaml is the base policy with mode: $mode" \
        diff <(sed "s/^mode: enforce\$/mode: $mode/" "$repo/manifests/base/policy/policy.yaml") \
        "$component/policy.yaml"
done

# 3. Every overlay builds. Expectations per overlay: policy mode, validation failurePolicy, TLS.
declare -A expect=(
    [base]="enforce Fail none"
    [enforce]="enforce Fail none"
    [warn]="warn Ignore none"
    [audit]="audit Ignore none"
    [cert-manager]="enforce Fail cert-manager"
)
mkdir -p "$work/build"
for overlay in "$repo"/manifests/overlays/*/; do
    name=$(basename "$overlay")
    [ -n "${expect[$name]:-}" ] || fail "manifests/overlays/$name: no expectations in check.sh"
done
built=()
for name in base enforce warn audit cert-manager; do
    dir="$repo/manifests/overlays/$name"
    [ "$name" = base ] && dir="$repo/manifests/base"
    if kubectl kustomize "$dir" >"$work/build/$name.yaml" 2>"$work/output"; then
        pass "kubectl kustomize manifests/${dir#"$repo/manifests/"} ($(grep -c '^kind:' "$work/build/$name.yaml") objects)"
        built+=("$name")
    else
        fail "kubectl kustomize manifests/${dir#"$repo/manifests/"}"
        sed 's/^/    /' "$work/output"
    fi
done

# An install that composes an overlay with a component, as docs/deploy.md's production example.
mkdir -p "$work/audit-cert-manager"
cat >"$work/audit-cert-manager/kustomization.yaml" <<EOF
resources:
  - $(realpath --relative-to="$work/audit-cert-manager" "$repo/manifests/overlays/audit")
components:
  - $(realpath --relative-to="$work/audit-cert-manager" "$repo/manifests/components/cert-manager")
EOF
expect[audit-cert-manager]="audit Ignore cert-manager"
if kubectl kustomize "$work/audit-cert-manager" >"$work/build/audit-cert-manager.yaml" 2>"$work/output"; then
    pass "kubectl kustomize overlays/audit + components/cert-manager ($(grep -c '^kind:' "$work/build/audit-cert-manager.yaml") objects)"
    built+=("audit-cert-manager")
else
    fail "kubectl kustomize overlays/audit + components/cert-manager"
    sed 's/^/    /' "$work/output"
fi

# 4. The certificate script: extensions, names, verification; its component and overlays.
certs="$work/certs"
check "certs/generate.sh (ECDSA)" "$repo/certs/generate.sh" --out "$certs"
fqdn=seccomp-gate.seccomp-gate.svc
for host in seccomp-gate seccomp-gate.seccomp-gate $fqdn $fqdn.cluster.local; do
    check "openssl verify -verify_hostname $host" \
        openssl verify -CAfile "$certs/ca.crt" -verify_hostname "$host" "$certs/tls.crt"
done
check_fails "the certificate is not valid for another name" \
    openssl verify -CAfile "$certs/ca.crt" -verify_hostname seccomp-gate.other.svc "$certs/tls.crt"
extensions_are() { # CERT EXPECTED...: every EXPECTED line is in the certificate's extensions
    local text
    text=$(openssl x509 -in "$1" -noout -ext basicConstraints,keyUsage,extendedKeyUsage,subjectAltName)
    shift
    for line in "$@"; do
        grep -qxF -- "$line" <<<"$(sed 's/^ *//; s/ *$//' <<<"$text")" ||
            { echo "missing \"$line\" in:"; echo "$text"; return 1; }
    done
}
check "CA: basicConstraints critical CA:TRUE, keyUsage keyCertSign" extensions_are "$certs/ca.crt" \
    "X509v3 Basic Constraints: critical" "CA:TRUE, pathlen:0" "Certificate Sign, CRL Sign"
check "server: CA:FALSE, digitalSignature only, serverAuth, the four DNS names" \
    extensions_are "$certs/tls.crt" "X509v3 Basic Constraints: critical" "CA:FALSE" \
    "X509v3 Key Usage: critical" "Digital Signature" "TLS Web Server Authentication" \
    "DNS:seccomp-gate, DNS:seccomp-gate.seccomp-gate, DNS:$fqdn, DNS:$fqdn.cluster.local"
check "server key is ECDSA P-256" \
    bash -c "openssl pkey -in '$certs/tls.key' -noout -text | grep -q 'ASN1 OID: prime256v1'"
check "keys are readable by their owner only" \
    bash -c "[ \"\$(stat -c %a '$certs/tls.key' '$certs/ca.key' '$certs/component/secret.yaml' | sort -u)\" = 600 ]"
cp "$certs/ca.crt" "$work/ca.first.crt"
"$repo/certs/generate.sh" --out "$certs" --days 30 >/dev/null
check "a second run renews the serving certificate and keeps the CA" \
    bash -c "cmp -s '$certs/ca.crt' '$work/ca.first.crt' && cmp -s '$certs/ca.crt' '$certs/ca-bundle.crt' && openssl verify -CAfile '$certs/ca.crt' '$certs/tls.crt'"
rsa="$work/certs-rsa"
"$repo/certs/generate.sh" --out "$rsa" --rsa --namespace other >/dev/null
check "certs/generate.sh --rsa --namespace other: RSA 3072, keyEncipherment, other's names" \
    bash -c "openssl pkey -in '$rsa/tls.key' -noout -text | grep -q 'Private-Key: (3072 bit' &&
             openssl verify -CAfile '$rsa/ca.crt' -verify_hostname seccomp-gate.other.svc '$rsa/tls.crt' &&
             openssl x509 -in '$rsa/tls.crt' -noout -ext keyUsage | grep -q 'Digital Signature, Key Encipherment'"
rotated="$work/certs-rotated"
cp -r "$certs" "$rotated"
"$repo/certs/generate.sh" --out "$rotated" --new-ca >/dev/null
check "--new-ca: the bundle trusts the new and the previous CA, the new one signs" \
    bash -c "[ \$(grep -c 'BEGIN CERTIFICATE' '$rotated/ca-bundle.crt') = 2 ] &&
             ! cmp -s '$rotated/ca.crt' '$certs/ca.crt' &&
             openssl verify -CAfile '$rotated/ca.crt' '$rotated/tls.crt' &&
             ! openssl verify -CAfile '$certs/ca.crt' '$rotated/tls.crt'"
"$repo/certs/generate.sh" --out "$rotated" --drop-previous-ca >/dev/null
check "--drop-previous-ca: the bundle is the current CA only" \
    cmp "$rotated/ca.crt" "$rotated/ca-bundle.crt"
check_fails "certs/generate.sh rejects a bad --days" "$repo/certs/generate.sh" --out "$work/x" --days 0
check_fails "certs/generate.sh rejects an unknown flag" "$repo/certs/generate.sh" --out "$work/x" --bogus
for mode in enforce warn audit; do
    if kubectl kustomize "$certs/$mode" >"$work/build/certs-$mode.yaml" 2>"$work/output"; then
        pass "kubectl kustomize certs/out/$mode ($(grep -c '^kind:' "$work/build/certs-$mode.yaml") objects)"
        built+=("certs-$mode")
    else
        fail "kubectl kustomize certs/out/$mode"
        sed 's/^/    /' "$work/output"
    fi
done
expect[certs-enforce]="enforce Fail secret"
expect[certs-warn]="warn Ignore secret"
expect[certs-audit]="audit Ignore secret"
if kubectl kustomize "$rsa/audit" >"$work/build/certs-other-audit.yaml" 2>"$work/output"; then
    check "certs/out/audit of --namespace other: every invariant holds in namespace other" \
        invariants --namespace other --mode audit --failure-policy Ignore --tls secret \
        "$work/build/certs-other-audit.yaml"
    check "... and validates" validate "$work/build/certs-other-audit.yaml"
else
    fail "kubectl kustomize certs/out/audit (--namespace other)"
    sed 's/^/    /' "$work/output"
fi

# 5. Every object of every build against the Kubernetes OpenAPI schemas, unknown fields included.
files=()
for name in "${built[@]}"; do files+=("$work/build/$name.yaml"); done
check "OpenAPI schemas and unknown fields (${#files[@]} builds)" validate "${files[@]}"
cat >"$work/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: seccomp-gate}
spec:
  replicas: "3"
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers:
        - name: c
          image: busybox
          securityContext: {seccompProfil: {type: RuntimeDefault}}
EOF
check_fails "the schema check rejects a wrong type and a misspelt field" validate "$work/broken.yaml"
check "... naming both" bash -c "node '$here/validate.mjs' '$work/broken.yaml' |
    grep -q 'spec/replicas must be integer' && node '$here/validate.mjs' '$work/broken.yaml' |
    grep -q 'securityContext.seccompProfil: unknown field'"

# 6. The deployment's invariants, per build.
for name in "${built[@]}"; do
    read -r mode failure_policy tls <<<"${expect[$name]}"
    check "invariants of $name (mode $mode, failurePolicy $failure_policy, tls $tls)" \
        invariants --mode "$mode" --failure-policy "$failure_policy" --tls "$tls" \
        "$work/build/$name.yaml"
done
sed -e 's/failurePolicy: Fail/failurePolicy: Ignore/' \
    -e 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 20/' \
    "$work/build/enforce.yaml" >"$work/broken-enforce.yaml"
check_fails "the invariants catch a fail-open enforce build and a short grace period" \
    invariants --mode enforce --failure-policy Fail --tls none "$work/broken-enforce.yaml"

# 7. The shipped policy and catalog, laid out as the kubelet mounts the ConfigMaps (files are
#    symlinks into ..data), load, and seccomp-gate's own manifests obey them.
for name in "${built[@]}"; do
    mounted="$work/mounts/$name"
    node "$here/objects.mjs" mount "$work/build/$name.yaml" "$mounted"
    check "seccomp-gate audit of the $name build under its own policy: no findings" \
        "$binary" audit --policy "$mounted/policy/policy.yaml" "$work/build/$name.yaml"
done
check "seccomp-gate audit under manifests/base/policy/policy.yaml (the repository layout)" \
    "$binary" audit --policy "$repo/manifests/base/policy/policy.yaml" "$work/build/enforce.yaml"
cat >"$work/unconfined.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: unconfined, namespace: shop}
spec:
  selector: {matchLabels: {app: unconfined}}
  template:
    metadata: {labels: {app: unconfined}}
    spec:
      securityContext: {seccompProfile: {type: Unconfined}}
      containers: [{name: c, image: busybox}]
EOF
check_fails "... and the same audit flags an Unconfined Deployment" \
    "$binary" audit --policy "$work/mounts/enforce/policy/policy.yaml" "$work/unconfined.yaml"

# 8. The server as the Deployment runs it: its arguments, the mounted ConfigMaps and the Secret
#    of certs/out/enforce; a client that verifies like the API server (caBundle, service name).
if [[ " ${built[*]} " == *" certs-enforce "* ]]; then
    mounted="$work/mounts/certs-enforce"
    mkdir -p "$mounted/tls"
    cp "$certs/tls.crt" "$certs/tls.key" "$certs/ca.crt" "$mounted/tls/"
    node "$here/objects.mjs" args "$work/build/certs-enforce.yaml" >"$work/args"
    mapfile -t args < <(sed -e "s|=/etc/seccomp-gate/|=$mounted/|" \
        -e 's|^--listen=.*|--listen=127.0.0.1:0|' "$work/args")
    "$binary" "${args[@]}" 2>"$work/server.log" &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*"msg":"listening","address":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/server.log")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "seccomp-gate serve with the Deployment's arguments did not start"
        sed 's/^/    /' "$work/server.log"
    else
        pass "seccomp-gate serve starts with the Deployment's arguments and mounts"
        node "$here/objects.mjs" ca-bundle "$work/build/certs-enforce.yaml" >"$work/ca-bundle.crt"
        https() { # PATH [curl args]: as the API server calls the Service, trusting the caBundle
            local path=$1
            shift
            curl -sS --fail-with-body --max-time 10 --cacert "$work/ca-bundle.crt" \
                --resolve "$fqdn:$port:127.0.0.1" "https://$fqdn:$port$path" "$@"
        }
        check "GET /readyz over TLS verified with the webhook's caBundle and service name" \
            https /readyz
        review() { # ENDPOINT POD_SECURITY_CONTEXT
            https "/$1?timeout=5s" -H 'Content-Type: application/json' --data-binary @- <<EOF
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"7b1c","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{$2"containers":[{"name":"c","image":"busybox"}]}}}}
EOF
        }
        response=$(review validate '"securityContext":{"seccompProfile":{"type":"Unconfined"}},')
        check "POST /validate denies an Unconfined pod under the shipped policy" \
            grep -q '"allowed":false.*must not set seccompProfile.type to \\"Unconfined\\"' <<<"$response"
        response=$(review validate \
            '"securityContext":{"seccompProfile":{"type":"Localhost","localhostProfile":"seccomp-gate/web.json"}},')
        check "POST /validate admits a pod with the catalog profile seccomp-gate/web.json" \
            grep -q '"allowed":true' <<<"$response"
        patch=$(review mutate "" | node "$here/objects.mjs" patch)
        check "POST /mutate gives a pod without a profile seccomp-gate/default.json" \
            grep -q '"localhostProfile":"seccomp-gate/default.json"' <<<"$patch"
    fi
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
fi

# The profile DaemonSet's command, once (without --watch), as its pod runs it: every capability
# dropped, on the same ConfigMap-style catalog mount, into a directory that the user owns with
# mode 0755 (as the kubelet creates the hostPath for uid 0). It installs every catalog profile,
# byte for byte: ownership is all it needs.
node "$here/objects.mjs" sync-args "$work/build/enforce.yaml" >"$work/sync-args"
sync_into() { # HOST_DIR: runs the DaemonSet's command without capabilities, --to HOST_DIR
    local -a sync_args
    mapfile -t sync_args < <(grep -vx -- '--watch' "$work/sync-args" |
        sed -e "s|=/etc/seccomp-gate/catalog\$|=$work/mounts/enforce/catalog|" \
            -e "s|=/host/seccomp/seccomp-gate\$|=$1|")
    setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs -- \
        "$binary" "${sync_args[@]}"
}
host="$work/host/seccomp/seccomp-gate"
mkdir -p "$host" && chmod 0755 "$host"
check "the DaemonSet's sync-profiles command, without capabilities, installs the catalog" \
    bash -c "$(declare -f sync_into); work='$work' binary='$binary' sync_into '$host' &&
             diff -r -x .seccomp-gate-sync.json '$repo/manifests/base/catalog' '$host'"
if [ "$(id -u)" = 0 ]; then
    foreign="$work/host/foreign"
    mkdir -p "$foreign" && chmod 0755 "$foreign" && chown 12345:12345 "$foreign"
    check_fails "... and cannot write into a directory it does not own" \
        bash -c "$(declare -f sync_into); work='$work' binary='$binary' sync_into '$foreign'"
fi

# 9. The kustomization of docs/deploy.md for another kubelet root, built as documented (its
#    resources line pointed at this checkout). The strategic merge reorders the volumes, so the
#    builds are compared line by line, sorted: only the path may differ.
mkdir -p "$work/kubelet-root"
[ -f "$repo/docs/deploy.md" ] || fail "docs/deploy.md is missing"
sed -n '/<!-- checked by test\/manifests\/check.sh: kubelet-root -->/,/^```$/p' "$repo/docs/deploy.md" 2>/dev/null |
    sed -e '1,2d' -e '$d' \
        -e "s|^  - .*manifests/overlays/enforce\$|  - $(realpath --relative-to="$work/kubelet-root" "$repo/manifests/overlays/enforce")|" \
    >"$work/kubelet-root/kustomization.yaml"
check "docs/deploy.md's kubelet-root kustomization moves the DaemonSet's hostPath, nothing else" \
    bash -c "kubectl kustomize '$work/kubelet-root' >'$work/kubelet-root.yaml' &&
             grep -q 'path: /var/lib/k0s/kubelet/seccomp/seccomp-gate\$' '$work/kubelet-root.yaml' &&
             [ \$(diff <(sort '$work/build/enforce.yaml') <(sort '$work/kubelet-root.yaml') | grep -c '^[<>]') = 2 ]"

# 10. The image: the Dockerfile parses, runs as uid 65532, and installs every shared library the
#     binary links (by Debian package, as `ldd` and `dpkg -S` see them on this machine).
check "dockerfile-utils lint Dockerfile" "$here/node_modules/.bin/dockerfile-utils" lint "$repo/Dockerfile"
check "the image runs as the numeric user 65532" grep -qx 'USER 65532:65532' "$repo/Dockerfile"
runtime_packages() {
    ldd "$binary" | awk '/=> \// { print $3 }' | while read -r library; do
        dpkg -S "$(readlink -f "$library")" 2>/dev/null || dpkg -S "$library"
    done | cut -d: -f1 | sort -u
}
check_runtime() {
    local stage
    stage=$(sed -n '/^FROM .*-slim/,$p' "$repo/Dockerfile")
    for package in $(runtime_packages); do
        case "$package" in
            libc6 | libasan* | libubsan* | liblsan*) continue ;; # in every image; sanitizer builds
        esac
        grep -qw -- "$package" <<<"$stage" || { echo "$package is not installed by the runtime stage"; return 1; }
    done
}
check "the runtime stage installs the packages of every library the binary links" check_runtime

# 11. Shell scripts.
if command -v shellcheck >/dev/null; then
    check "shellcheck certs/generate.sh test/manifests/check.sh test/e2e/kind/run.sh" \
        shellcheck "$repo/certs/generate.sh" "$here/check.sh" "$repo/test/e2e/kind/run.sh"
else
    fail "shellcheck is not installed (apt-get install shellcheck)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
