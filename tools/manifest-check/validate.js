// Validates Teams app manifests offline against the official JSON schema bundled in
// @microsoft/app-manifest (the $schema URL is resolved to the package's build/json-schemas copy, so
// no network is needed).
//
// usage: node validate.js path/to/manifest.json [...]
// exit:  0 all valid, 1 schema errors, 2 the validator itself failed (unreadable file, bad JSON, ...)
"use strict";
const fs = require("fs");
const { AppManifestUtils } = require("@microsoft/app-manifest");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node validate.js path/to/manifest.json [...]");
    process.exit(2);
  }
  let failed = false;
  for (const file of files) {
    // A UTF-8 BOM is legal in manifests Teams accepts but not in JSON.parse.
    const manifest = JSON.parse(fs.readFileSync(file, "utf8").replace(/^\uFEFF/, ""));
    // validateAgainstSchema works on the raw JSON; readAndValidateTeamsManifest would throw a converter
    // error on type problems instead of listing them.
    const errors = await AppManifestUtils.validateAgainstSchema(manifest);
    console.log(`${file}: manifestVersion ${manifest.manifestVersion} schema errors: ${errors.length}`);
    for (const e of errors) console.log("  " + e);
    if (errors.length) failed = true;
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error("FAILED:", e.message);
  process.exit(2);
});
