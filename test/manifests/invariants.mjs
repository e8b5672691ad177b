// What a kustomize build of manifests/ must guarantee beyond schema validity: the properties that
// keep the webhook available, unable to block itself, hardened, and wired to its own policy,
// catalog and certificate. One line per broken property; exit 1 when there is any.
//
// usage: node invariants.mjs --mode enforce|warn|audit --failure-policy Fail|Ignore
//                            --tls none|secret|cert-manager [--namespace NS] FILE
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { parseAllDocuments, parse } from "yaml";

const kPodKinds = new Set([
  "pods", "podtemplates", "replicationcontrollers", "replicasets", "deployments", "statefulsets",
  "daemonsets", "jobs", "cronjobs",
]);

function parse_flags(argv) {
  const flags = {};
  const positionals = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i].startsWith("--")) flags[argv[i].slice(2)] = argv[++i];
    else positionals.push(argv[i]);
  }
  const ok = ["enforce", "warn", "audit"].includes(flags.mode) &&
      ["Fail", "Ignore"].includes(flags["failure-policy"]) &&
      ["none", "secret", "cert-manager"].includes(flags.tls) && positionals.length === 1;
  if (!ok) {
    console.error("usage: node invariants.mjs --mode enforce|warn|audit " +
                  "--failure-policy Fail|Ignore --tls none|secret|cert-manager [--namespace NS] FILE");
    process.exit(2);
  }
  return { namespace: "seccomp-gate", ...flags, file: positionals[0] };
}

const options = parse_flags(process.argv.slice(2));
const kNamespace = options.namespace;
const objects = parseAllDocuments(readFileSync(options.file, "utf8")).map((d) => d.toJS());
const problems = [];
const expect = (condition, message) => {
  if (!condition) problems.push(message);
};
const find = (kind, name) =>
  objects.find((o) => o?.kind === kind && o.metadata?.name === name);
const all = (kind) => objects.filter((o) => o?.kind === kind);
// Deep equality; object key order does not matter (kustomize sorts keys).
const canonical = (value) => JSON.stringify(value, (key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v);
const same = (a, b) => canonical(a) === canonical(b);
const selects = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) &&
  Object.keys(selector?.matchLabels ?? {}).length > 0;
// Seconds of a DURATION flag value of `seccomp-gate serve`: 500ms, 10s, 2m, 7.
function seconds(text) {
  const match = /^(\d+)(ms|s|m)?$/.exec(text ?? "");
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === "ms" ? value / 1000 : match[2] === "m" ? value * 60 : value;
}
function flag(args, name) {
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  return args[index].includes("=") ? args[index].split("=").slice(1).join("=") : args[index + 1];
}

// Namespace and ServiceAccount.
const namespaces = all("Namespace");
expect(namespaces.length === 1 && namespaces[0].metadata.name === kNamespace,
       `exactly one Namespace ${kNamespace}`);
for (const object of objects) {
  const cluster_scoped = ["Namespace", "ValidatingWebhookConfiguration",
                          "MutatingWebhookConfiguration"].includes(object.kind);
  if (!cluster_scoped) {
    expect(object.metadata?.namespace === kNamespace,
           `${object.kind}/${object.metadata?.name}: namespace must be ${kNamespace}`);
  }
}
const account = find("ServiceAccount", "seccomp-gate");
expect(account?.automountServiceAccountToken === false,
       "ServiceAccount seccomp-gate: automountServiceAccountToken must be false");

// The policy and the catalog the webhook serves.
const policy_map = find("ConfigMap", "seccomp-gate-policy");
const catalog_map = find("ConfigMap", "seccomp-gate-catalog");
expect(policy_map?.data?.["policy.yaml"], "ConfigMap seccomp-gate-policy: no policy.yaml");
expect(Object.keys(catalog_map?.data ?? {}).length > 0, "ConfigMap seccomp-gate-catalog: empty");
let policy = {};
try {
  policy = parse(policy_map?.data?.["policy.yaml"] ?? "{}") ?? {};
} catch (error) {
  problems.push(`ConfigMap seccomp-gate-policy: policy.yaml does not parse: ${error.message.split("\n")[0]}`);
}
expect(policy.mode === options.mode, `policy mode is ${policy.mode}, expected ${options.mode}`);
expect(policy.catalog?.prefix === "seccomp-gate",
       `policy catalog.prefix is "${policy.catalog?.prefix}", expected "seccomp-gate"`);
if (policy.defaultProfile?.type === "Localhost") {
  const name = policy.defaultProfile.localhostProfile ?? "";
  expect(name.startsWith("seccomp-gate/") &&
             Object.hasOwn(catalog_map?.data ?? {}, name.slice("seccomp-gate/".length)),
         `policy defaultProfile "${name}" is not in the catalog ConfigMap`);
}

// The webhook Deployment.
const deployment = find("Deployment", "seccomp-gate");
expect(deployment, "no Deployment seccomp-gate");
const pod = deployment?.spec?.template?.spec ?? {};
const pod_labels = deployment?.spec?.template?.metadata?.labels ?? {};
const container = pod.containers?.[0] ?? {};
const args = container.args ?? [];
const security = container.securityContext ?? {};
expect(deployment?.spec?.replicas === 3, "Deployment: replicas must be 3");
expect(same(deployment?.spec?.strategy?.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 }),
       "Deployment: rolling update must be maxUnavailable 0, maxSurge 1");
expect(pod.priorityClassName === "system-cluster-critical",
       "Deployment: priorityClassName must be system-cluster-critical");
expect(pod.automountServiceAccountToken === false && pod.serviceAccountName === "seccomp-gate",
       "Deployment: serviceAccountName seccomp-gate without a token");
expect(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.some(
           (t) => t.podAffinityTerm?.topologyKey === "kubernetes.io/hostname" &&
                  selects(t.podAffinityTerm.labelSelector, pod_labels)),
       "Deployment: preferred podAntiAffinity across nodes");
expect(pod.topologySpreadConstraints?.some(
           (t) => t.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector, pod_labels)),
       "Deployment: topologySpreadConstraints across nodes");
expect(args[0] === "serve", "Deployment: the container runs `seccomp-gate serve`");
const grace = seconds(flag(args, "shutdown-delay") ?? "5s") +
              seconds(flag(args, "shutdown-grace") ?? "20s");
expect(pod.terminationGracePeriodSeconds > grace,
       `Deployment: terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds}) must ` +
           `exceed shutdown delay + grace (${grace}s)`);
expect(pod.securityContext?.runAsNonRoot === true && pod.securityContext?.runAsUser === 65532,
       "Deployment: pod must run as non-root uid 65532");
expect(security.readOnlyRootFilesystem === true && security.allowPrivilegeEscalation === false &&
           same(security.capabilities, { drop: ["ALL"] }) && security.runAsNonRoot === true,
       "Deployment: container must be read-only, without privilege escalation or capabilities");
expect((security.seccompProfile ?? pod.securityContext?.seccompProfile)?.type === "RuntimeDefault",
       "Deployment: the webhook itself must run under RuntimeDefault");
const https_port = container.ports?.find((p) => p.name === "https");
expect(https_port?.containerPort === 8443, "Deployment: container port https must be 8443");
expect(Number(flag(args, "listen")?.split(":").pop()) === https_port?.containerPort,
       "Deployment: --listen must use the https container port");
for (const [probe, path] of [["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"],
                             ["startupProbe", undefined]]) {
  const get = container[probe]?.httpGet;
  expect(get?.scheme === "HTTPS" && (path === undefined || get.path === path) &&
             (get.port === "https" || get.port === 8443),
         `Deployment: ${probe} must be HTTPS${path ? ` on ${path}` : ""}`);
}
expect(container.resources?.requests?.cpu && container.resources?.requests?.memory,
       "Deployment: cpu and memory requests");
expect(container.resources?.limits?.cpu === undefined, "Deployment: no CPU limit");
const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.name, m]));
const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
for (const mount of container.volumeMounts ?? []) {
  expect(mount.subPath === undefined && mount.subPathExpr === undefined,
         `Deployment: volume ${mount.name} must be mounted whole (a subPath mount never updates)`);
  expect(mount.readOnly === true, `Deployment: volume ${mount.name} must be mounted read-only`);
}
const mounted_from = (file) => Object.values(mounts).find(
    (m) => file?.startsWith(m.mountPath.replace(/\/?$/, "/")));
const policy_mount = mounted_from(flag(args, "policy"));
expect(volumes[policy_mount?.name]?.configMap?.name === "seccomp-gate-policy",
       "Deployment: --policy must be a file of the seccomp-gate-policy ConfigMap mount");
const catalog_dir = posix.join(posix.dirname(flag(args, "policy") ?? "/"),
                               policy.catalog?.directory ?? "");
const catalog_mount = Object.values(mounts).find(
    (m) => volumes[m.name]?.configMap?.name === "seccomp-gate-catalog");
expect(catalog_mount && posix.normalize(catalog_mount.mountPath + "/") === catalog_dir,
       `Deployment: the policy's catalog.directory resolves to ${catalog_dir}, where the ` +
           "catalog ConfigMap must be mounted");
for (const name of ["tls-cert", "tls-key"]) {
  const mount = mounted_from(flag(args, name));
  expect(volumes[mount?.name]?.secret?.secretName === "seccomp-gate-tls",
         `Deployment: --${name} must be a file of the seccomp-gate-tls Secret mount`);
}

// Service, PodDisruptionBudget, NetworkPolicy.
const service = find("Service", "seccomp-gate");
const service_port = service?.spec?.ports?.find((p) => p.port === 443);
expect(service_port && (service_port.targetPort === "https" || service_port.targetPort === 8443),
       "Service: port 443 must target the https container port");
expect(service && same(service.spec.selector,
                       Object.fromEntries(Object.entries(service.spec.selector ?? {}).map(
                           ([k]) => [k, pod_labels[k]]))),
       "Service: selector must select the webhook pods");
const budget = all("PodDisruptionBudget").find((p) => selects(p.spec?.selector, pod_labels));
expect(budget?.spec?.minAvailable === 1, "PodDisruptionBudget: minAvailable 1 for the webhook");
const policies = all("NetworkPolicy");
expect(policies.some((p) => same(p.spec?.podSelector, {}) &&
                            same(p.spec?.policyTypes?.slice().sort(), ["Egress", "Ingress"]) &&
                            !p.spec.ingress && !p.spec.egress),
       "NetworkPolicy: a default deny of ingress and egress for the namespace");
const allowed = policies.filter((p) => selects(p.spec?.podSelector, pod_labels))
                    .flatMap((p) => p.spec.ingress ?? []);
expect(allowed.length > 0 &&
           allowed.every((rule) => same(rule.ports, [{ protocol: "TCP", port: 8443 }])),
       "NetworkPolicy: webhook pods admit TCP 8443 and nothing else");

// The profile sync DaemonSet.
const daemonset = find("DaemonSet", "seccomp-gate-profiles");
const node_pod = daemonset?.spec?.template?.spec ?? {};
const sync = node_pod.containers?.[0] ?? {};
const sync_args = sync.args ?? [];
expect(sync_args[0] === "sync-profiles" && sync_args.includes("--watch"),
       "DaemonSet: runs `seccomp-gate sync-profiles --watch`");
expect(sync.image === container.image, "DaemonSet: same image as the webhook");
const sync_mounts = sync.volumeMounts ?? [];
const sync_volumes = Object.fromEntries((node_pod.volumes ?? []).map((v) => [v.name, v]));
const from_mount = sync_mounts.find((m) => m.mountPath === flag(sync_args, "from"));
expect(sync_volumes[from_mount?.name]?.configMap?.name === "seccomp-gate-catalog" &&
           from_mount.readOnly === true && !from_mount.subPath,
       "DaemonSet: --from must be the whole catalog ConfigMap mount, read-only");
const to = flag(sync_args, "to") ?? "";
const to_mount = sync_mounts.find((m) => to === m.mountPath || to.startsWith(`${m.mountPath}/`));
const host_path = sync_volumes[to_mount?.name]?.hostPath?.path ?? "";
const host_to = posix.join(host_path, to.slice(to_mount?.mountPath.length ?? 0));
expect(host_to.endsWith(`/seccomp/${policy.catalog?.prefix}`),
       `DaemonSet: --to lands in ${host_to}, not <kubelet-root>/seccomp/${policy.catalog?.prefix}`);
expect(node_pod.tolerations?.some((t) => t.operator === "Exists" && !t.key && !t.effect),
       "DaemonSet: must tolerate every taint (control-plane nodes included)");
const sync_security = sync.securityContext ?? {};
expect(sync_security.readOnlyRootFilesystem === true &&
           sync_security.allowPrivilegeEscalation === false &&
           same(sync_security.capabilities, { drop: ["ALL"] }) && !sync_security.privileged,
       "DaemonSet: read-only root, no privilege escalation, every capability dropped");
expect((sync_security.seccompProfile ?? node_pod.securityContext?.seccompProfile)?.type ===
           "RuntimeDefault",
       "DaemonSet: RuntimeDefault seccomp profile");
expect(node_pod.automountServiceAccountToken === false, "DaemonSet: no service account token");
expect(Object.keys(sync_volumes).every((n) => n === to_mount?.name || !sync_volumes[n].hostPath),
       "DaemonSet: no hostPath but the profile directory");
// Its liveness probe (required): the --watch loop rewrites --health-file, and the probe is
// `seccomp-gate sync-profiles --check-health` on that same file (the image has no shell), which
// must be on a writable emptyDir (the root file system is read-only), outside --from and --to.
const health_file = flag(sync_args, "health-file");
{
  const probe = sync.livenessProbe?.exec?.command ?? [];
  expect(health_file && /^\/.*\/seccomp-gate$/.test(probe[0] ?? "") &&
             probe[1] === "sync-profiles" && flag(probe, "check-health") === health_file,
         `DaemonSet: livenessProbe must exec <absolute path>/seccomp-gate sync-profiles ` +
             `--check-health on --health-file (${health_file}), not ${JSON.stringify(probe)}`);
  const health_mount = sync_mounts.find((m) => health_file?.startsWith(`${m.mountPath}/`));
  expect(sync_volumes[health_mount?.name]?.emptyDir && !health_mount.readOnly,
         `DaemonSet: --health-file ${health_file} must be on a writable emptyDir mount`);
  expect(health_mount && health_mount !== from_mount && health_mount !== to_mount,
         "DaemonSet: --health-file must be outside --from and --to");
}

// The webhook configurations. Validation is two webhooks on the same Service and path: the judging
// one, whose failurePolicy is the overlay's, and one for pod UPDATEs that is always Ignore (an
// outage must not stop label, annotation and finalizer edits of running pods: SPEC section 6).
// Mutation exists only where the policy enforces: audit and warn are dry runs that change nothing.
const kJudge = "validate.seccomp-gate.io";
const kPodUpdates = "validate-pod-updates.seccomp-gate.io";
const kMutate = "mutate.seccomp-gate.io";
// Namespaces no webhook may judge: the webhook's own, kube-system, and with cert-manager issuing
// the certificate, cert-manager's (else neither can start while the other is down).
const kLeftOut = ["kube-system", kNamespace,
                  ...(options.tls === "cert-manager" ? ["cert-manager"] : [])];
function check_webhook(kind, webhook, path, failure_policy) {
  const where = `${kind} ${webhook.name}`;
  expect(webhook.failurePolicy === failure_policy,
         `${where}: failurePolicy ${webhook.failurePolicy}, expected ${failure_policy}`);
  expect(webhook.sideEffects === "None", `${where}: sideEffects None`);
  expect(same(webhook.admissionReviewVersions, ["v1", "v1beta1"]),
         `${where}: admissionReviewVersions [v1, v1beta1]`);
  expect(webhook.timeoutSeconds >= 1 && webhook.timeoutSeconds <= 10,
         `${where}: timeoutSeconds of a few seconds`);
  const target = webhook.clientConfig?.service;
  expect(target?.name === service?.metadata?.name && target?.namespace === kNamespace &&
             target?.path === path && target?.port === service_port?.port,
         `${where}: must call ${path} on the Service seccomp-gate port 443`);
  const excluded = webhook.namespaceSelector?.matchExpressions?.find(
      (e) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn");
  expect(kLeftOut.every((n) => excluded?.values?.includes(n)),
         `${where}: namespaceSelector must leave out ${kLeftOut.join(", ")}`);
  expect(!webhook.objectSelector, `${where}: no objectSelector (pods could opt out)`);
  if (options.tls === "secret") {
    expect(typeof webhook.clientConfig?.caBundle === "string" &&
               Buffer.from(webhook.clientConfig.caBundle, "base64").toString()
                   .includes("BEGIN CERTIFICATE"),
           `${where}: caBundle must hold the CA certificate`);
  } else {
    expect(webhook.clientConfig?.caBundle === undefined,
           `${where}: caBundle must come from ${options.tls === "none" ? "a cert component" :
                                                                       "cert-manager"}`);
  }
}
const webhook_named = (configuration, name) =>
  configuration?.webhooks?.find((w) => w.name === name);
const validating = find("ValidatingWebhookConfiguration", "seccomp-gate");
expect(same((validating?.webhooks ?? []).map((w) => w.name), [kJudge, kPodUpdates]),
       `ValidatingWebhookConfiguration: the webhooks ${kJudge} and ${kPodUpdates}, in this order ` +
           "(the overlays patch /webhooks/0/failurePolicy)");
const judge = webhook_named(validating, kJudge);
const pod_updates = webhook_named(validating, kPodUpdates);
if (judge) {
  check_webhook("ValidatingWebhookConfiguration", judge, "/validate", options["failure-policy"]);
}
if (pod_updates) {
  check_webhook("ValidatingWebhookConfiguration", pod_updates, "/validate", "Ignore");
}
const mutating = find("MutatingWebhookConfiguration", "seccomp-gate");
const mutate = webhook_named(mutating, kMutate);
if (options.mode === "enforce") {
  expect(same((mutating?.webhooks ?? []).map((w) => w.name), [kMutate]),
         `MutatingWebhookConfiguration: the webhook ${kMutate} (and no other) when enforcing`);
  if (mutate) check_webhook("MutatingWebhookConfiguration", mutate, "/mutate", "Ignore");
  expect(mutate?.reinvocationPolicy === "IfNeeded",
         "MutatingWebhookConfiguration: reinvocationPolicy IfNeeded");
} else {
  expect(!mutating && all("MutatingWebhookConfiguration").length === 0,
         `MutatingWebhookConfiguration: none in ${options.mode} mode (a dry run mutates no pod)`);
}
const covered = (webhook, resource, operation) => (webhook?.rules ?? []).some(
    (r) => r.resources?.includes(resource) && r.operations?.includes(operation));
for (const resource of kPodKinds) {
  for (const operation of ["CREATE", "UPDATE"]) {
    if (resource === "pods" && operation === "UPDATE") continue;
    expect(covered(judge, resource, operation),
           `${kJudge}: ${resource} ${operation} is not judged`);
  }
}
expect(covered(judge, "pods/ephemeralcontainers", "UPDATE"),
       `${kJudge}: pods/ephemeralcontainers UPDATE is not judged`);
expect(!covered(judge, "pods", "UPDATE"),
       `${kJudge}: pods UPDATE must go to ${kPodUpdates} (failurePolicy Ignore), not here`);
expect(covered(pod_updates, "pods", "UPDATE") &&
           (pod_updates?.rules ?? []).every((r) => same(r.resources, ["pods"]) &&
                                                   same(r.operations, ["UPDATE"])),
       `${kPodUpdates}: pods UPDATE, and nothing else`);
if (judge && pod_updates) {
  expect(same(judge.namespaceSelector, pod_updates.namespaceSelector) &&
             same(judge.clientConfig, pod_updates.clientConfig),
         `${kJudge} and ${kPodUpdates}: the same namespaceSelector and clientConfig`);
}
if (mutate) {
  expect(covered(mutate, "pods", "CREATE"),
         "MutatingWebhookConfiguration: pods CREATE is not mutated");
  expect(!covered(mutate, "pods", "UPDATE"),
         "MutatingWebhookConfiguration: pods are mutated on CREATE only (SPEC section 7)");
  if (policy.mutateTemplates !== true) {
    expect((mutate.rules ?? []).every((r) => same(r.resources, ["pods"])),
           "MutatingWebhookConfiguration: only pods, as the policy does not mutate templates");
  }
  expect(judge && same(mutate.namespaceSelector, judge.namespaceSelector),
         "MutatingWebhookConfiguration: the same namespaceSelector as the validating webhooks");
}

// TLS material.
const secret = find("Secret", "seccomp-gate-tls");
if (options.tls === "secret") {
  expect(secret?.type === "kubernetes.io/tls" &&
             ["tls.crt", "tls.key", "ca.crt"].every((k) => secret.data?.[k]),
         "Secret seccomp-gate-tls: kubernetes.io/tls with tls.crt, tls.key and ca.crt");
  const bundles = [judge, pod_updates, mutate].filter(Boolean).map((w) => w.clientConfig?.caBundle);
  expect(bundles.every((b) => b === bundles[0]), "every webhook must trust the same caBundle");
} else {
  expect(!secret, `Secret seccomp-gate-tls must not be in a build with tls ${options.tls}`);
}
if (options.tls === "cert-manager") {
  for (const configuration of [validating, mutating].filter(Boolean)) {
    const source = configuration?.metadata?.annotations?.["cert-manager.io/inject-ca-from"];
    const [namespace, name] = (source ?? "/").split("/");
    const certificate = find("Certificate", name);
    expect(namespace === kNamespace && certificate?.metadata?.namespace === kNamespace,
           `${configuration?.kind}: cert-manager.io/inject-ca-from must name a Certificate here`);
    expect(certificate?.spec?.secretName === "seccomp-gate-tls",
           `${configuration?.kind}: the injected CA's Certificate must issue seccomp-gate-tls`);
    const host = `${service?.metadata?.name}.${kNamespace}.svc`;
    expect(certificate?.spec?.dnsNames?.includes(host),
           `Certificate ${name}: dnsNames must include ${host}`);
    const issuer = find("Issuer", certificate?.spec?.issuerRef?.name);
    expect(issuer, `Certificate ${name}: its Issuer must be in the build`);
    // The CA behind that Issuer keeps its key when it is renewed: the caBundle (the CA as the
    // serving Secret's ca.crt has it) and the certificate each replica serves change at different
    // times, and a renewed CA with the same key and subject verifies what the previous one signed.
    const ca = all("Certificate").find((c) => c.spec?.secretName === issuer?.spec?.ca?.secretName);
    expect(ca?.spec?.isCA === true && ca.spec.privateKey?.rotationPolicy === "Never",
           `Certificate ${ca?.metadata?.name ?? "of the CA"}: isCA with ` +
               "privateKey.rotationPolicy Never (a new CA key breaks the API server's trust " +
               "until caBundle and served certificate both change)");
  }
}

for (const problem of problems) console.log(`${options.file}: ${problem}`);
console.log(`${options.file}: ${problems.length} broken invariants`);
process.exit(problems.length === 0 ? 0 : 1);
