// Command npte builds isolated network labs out of Linux network
// namespaces, veth links, routes, tc shaping and a NAT'd uplink. Every verb
// that changes state is a Plan, rendered as a POSIX sh script with
// --dry-run or executed live.
package main

import (
	"os"
	"runtime/debug"

	"github.com/npte/npte/cli"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); when it
// is not, the module version from the build info is used.
var version = ""

func main() {
	os.Exit(cli.Main(cli.DefaultEnv(buildVersion())))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
