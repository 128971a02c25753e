// Package manifest builds the guestpass Teams app package: it fills the manifest template from
// guestpass/manifest with the deployment's ids, SSO resource, version, valid domains and developer
// URLs, validates every input at this edge, and writes the zip Teams accepts (manifest.json,
// color.png and outline.png at the root).
//
// The output is deterministic: the same Options give byte-identical manifest JSON and zip, so a
// package can be rebuilt and compared. Schema conformance is checked offline in CI by
// tools/manifest-check against the official v1.30 schema.
package manifest

//go:generate go run ./icongen -out ../../manifest
