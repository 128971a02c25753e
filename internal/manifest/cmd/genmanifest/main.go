// Command genmanifest writes the guestpass Teams app package using guestpass/internal/manifest. It
// takes the same flags as "bot manifest" and exists so tools/manifest-check can build a package
// without compiling the whole bot.
//
//	go run ./internal/manifest/cmd/genmanifest -app-id <guid> -out dist/guestpass.zip
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"guestpass/internal/manifest"
)

func main() {
	err := manifest.Command(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "genmanifest:", err)
		os.Exit(1)
	}
}
