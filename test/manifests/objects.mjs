// Small helpers for check.sh that read a kustomize build (module resolution needs this directory's
// node_modules, so they live in a file here rather than in `node -e` strings).
//
//   node objects.mjs mount BUILD DIR     lay out the policy and catalog ConfigMaps as the kubelet
//                                        mounts them: DIR/{policy,catalog}/KEY -> ..data/KEY
//   node objects.mjs args BUILD          the webhook container's args, one a line
//   node objects.mjs sync-args BUILD     the profile DaemonSet container's args, one a line
//   node objects.mjs ca-bundle BUILD     the validating webhook's caBundle, decoded
//   node objects.mjs patch < RESPONSE    the JSONPatch of an AdmissionReview response, decoded
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const [command, build, directory] = process.argv.slice(2);
const load = () => parseAllDocuments(readFileSync(build, "utf8")).map((d) => d.toJS());
const find = (objects, kind, name) =>
  objects.find((o) => o?.kind === kind && (name === undefined || o.metadata?.name === name));

switch (command) {
  case "mount": {
    const objects = load();
    const version = "..2025_01_01_00_00_00.000000001";
    for (const [volume, name] of [["policy", "seccomp-gate-policy"],
                                  ["catalog", "seccomp-gate-catalog"]]) {
      const map = find(objects, "ConfigMap", name);
      mkdirSync(`${directory}/${volume}/${version}`, { recursive: true });
      symlinkSync(version, `${directory}/${volume}/..data`);
      for (const [key, value] of Object.entries(map.data)) {
        writeFileSync(`${directory}/${volume}/${version}/${key}`, value);
        symlinkSync(`..data/${key}`, `${directory}/${volume}/${key}`);
      }
    }
    break;
  }
  case "args":
    console.log(find(load(), "Deployment", "seccomp-gate").spec.template.spec.containers[0]
                    .args.join("\n"));
    break;
  case "sync-args":
    console.log(find(load(), "DaemonSet", "seccomp-gate-profiles").spec.template.spec
                    .containers[0].args.join("\n"));
    break;
  case "ca-bundle": {
    const webhook = find(load(), "ValidatingWebhookConfiguration").webhooks[0];
    process.stdout.write(Buffer.from(webhook.clientConfig.caBundle, "base64"));
    break;
  }
  case "patch": {
    const response = JSON.parse(readFileSync(0, "utf8")).response;
    console.log(response.patch ? Buffer.from(response.patch, "base64").toString() : "no patch");
    break;
  }
  default:
    console.error("usage: node objects.mjs mount|args|sync-args|ca-bundle BUILD [DIR] | patch < RESPONSE");
    process.exit(2);
}
