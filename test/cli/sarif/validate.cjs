// Validates SARIF logs against the SARIF 2.1.0 JSON schema, offline: the schema file that
// @microsoft/jest-sarif ships (sarif-2.1.0-rtm.5, the release the 2.1.0 standard was published
// from), with ajv and full format checks (so `uri-reference` is checked by RFC 3986's grammar).
//
// usage: node validate.cjs FILE...   (- reads stdin)
// Prints "FILE: valid" or each schema error with its JSON pointer; exits 1 when any is invalid,
// 2 when the schema or a file cannot be read.
"use strict";

const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");

const kSchema = path.join(__dirname, "node_modules/@microsoft/jest-sarif/lib/schemas/" +
                          "sarif-2.1.0-rtm.5.json");

function main(files) {
  let schema;
  try {
    schema = JSON.parse(fs.readFileSync(kSchema, "utf8"));
  } catch (error) {
    console.error(`${kSchema}: ${error.message} (run: npm ci --prefix test/cli/sarif)`);
    return 2;
  }
  // The schema is draft-04: its ids are `id`, and its meta-schema has to be added to ajv 6 (whose
  // warnings about the draft-07 meta-schema that it then ignores are noise here).
  const ajv = new Ajv({ schemaId: "id", format: "full", allErrors: true, logger: false });
  ajv.addMetaSchema(require("ajv/lib/refs/json-schema-draft-04.json"));
  const validate = ajv.compile(schema);
  let status = 0;
  for (const file of files) {
    let log;
    try {
      log = JSON.parse(fs.readFileSync(file === "-" ? 0 : file, "utf8"));
    } catch (error) {
      console.error(`${file}: ${error.message}`);
      return 2;
    }
    if (validate(log)) {
      console.log(`${file}: valid`);
      continue;
    }
    status = 1;
    for (const error of validate.errors) {
      console.log(`${file}: ${error.dataPath || "/"}: ${error.message}` +
                  (error.params ? ` ${JSON.stringify(error.params)}` : ""));
    }
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
