// Package manifest holds the sources of the guestpass Teams app package: the manifest template and the
// two icons. They live at the repository root so people find and review them easily; the package only
// embeds them for guestpass/internal/manifest, which fills in the template and writes the zip.
//
// The icons are drawn by guestpass/internal/manifest/icongen.
package manifest

import "embed"

// Files holds manifest.json (a template with "{{NAME}}" placeholders), color.png and outline.png.
//
//go:embed manifest.json color.png outline.png
var Files embed.FS
