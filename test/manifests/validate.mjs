// Validates Kubernetes objects offline: each document of each YAML file against the OpenAPI schema
// of its apiVersion/kind (kubernetes-models, @kubernetes-models/cert-manager), plus the check the
// OpenAPI schemas leave out and the API server's strict field validation does: no unknown fields.
//
// usage: node validate.mjs FILE...      exit 0: all valid; 1: findings; 2: usage or unreadable
//
// Unknown fields: Kubernetes' schemas do not set additionalProperties: false, so a misspelt or
// misplaced field (`replicaz`, a securityContext one level too high) passes schema validation and
// is rejected only by a live API server. The generated validators read every property their
// schema defines (`data.replicas`, ...) and enumerate the keys of maps; running them on proxies
// that record those reads tells, for each object, which keys the schema knows. A key that was
// neither read nor enumerated is unknown. An object whose validator read nothing at all has no
// declared properties (free-form, e.g. x-kubernetes-preserve-unknown-fields) and is not judged.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const kCoreGroups = new Set([
  "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "apps",
  "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
  "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
  "networking.k8s.io", "node.k8s.io", "policy", "rbac.authorization.k8s.io", "scheduling.k8s.io",
  "storage.k8s.io",
]);

// The module that holds the model classes of an apiVersion, or null when none is known.
function model_module(api_version) {
  if (api_version === "v1") return "kubernetes-models/v1";
  const [group, version] = api_version.split("/");
  if (!version) return null;
  if (kCoreGroups.has(group)) return `kubernetes-models/${group}/${version}`;
  if (group === "cert-manager.io") return `@kubernetes-models/cert-manager/${group}/${version}`;
  return null;
}

// Wraps `value` so that the validator's property reads are recorded per object in `reads`.
function track(value, reads) {
  if (value === null || typeof value !== "object") return value;
  const record = { keys: new Set(), enumerated: false };
  reads.set(value, record);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") record.keys.add(key);
      return track(Reflect.get(target, key, receiver), reads);
    },
    has(target, key) {
      if (typeof key === "string") record.keys.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function unknown_fields(value, reads, path, found) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => unknown_fields(item, reads, `${path}[${index}]`, found));
    return;
  }
  const record = reads.get(value);
  // Not visited: under an unknown key (reported already) or a free-form parent.
  if (!record || (record.keys.size === 0 && !record.enumerated)) return;
  for (const key of Object.keys(value)) {
    const child = path ? `${path}.${key}` : key;
    if (!record.enumerated && !record.keys.has(key)) {
      found.push(`${child}: unknown field`);
      continue;
    }
    unknown_fields(value[key], reads, child, found);
  }
}

async function check_object(object) {
  const problems = [];
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return ["document is not an object"];
  }
  const { apiVersion: api_version, kind } = object;
  if (typeof api_version !== "string" || typeof kind !== "string") {
    return ["apiVersion and kind must be strings"];
  }
  const module_name = model_module(api_version);
  if (!module_name) return [`no schema known for apiVersion ${api_version}`];
  let module;
  try {
    module = await import(module_name);
  } catch {
    return [`no schema known for apiVersion ${api_version}`];
  }
  const model = module[kind];
  if (typeof model?.prototype?.validate !== "function") {
    return [`no schema known for ${api_version} ${kind}`];
  }
  if (typeof object.metadata?.name !== "string" || object.metadata.name === "") {
    problems.push("metadata.name: required");
  }
  const reads = new Map();
  try {
    model.prototype.validate.call(track(object, reads));
  } catch (error) {
    for (const message of String(error.message).split(", ")) problems.push(message);
  }
  unknown_fields(object, reads, "", problems);
  return problems;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(2);
}
let objects = 0;
let findings = 0;
for (const file of files) {
  const seen = new Set(); // each file is one kustomize build: an object appears once
  let documents;
  try {
    documents = parseAllDocuments(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`${file}: ${error.message}`);
    process.exit(2);
  }
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) {
      console.log(`${file}: document ${index}: ${document.errors[0].message}`);
      ++findings;
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;
    ++objects;
    const name = `${object.kind}/${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
    const identity = `${object.apiVersion} ${name}`;
    const problems = await check_object(object);
    if (seen.has(identity)) problems.push("defined twice");
    seen.add(identity);
    for (const problem of problems) console.log(`${file}: ${name}: ${problem}`);
    findings += problems.length;
  }
}
console.log(`validated ${objects} objects in ${files.length} files: ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
