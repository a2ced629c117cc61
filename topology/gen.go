package topology

import (
	"fmt"
	"strings"
)

// ChainFile returns a lab file of n nodes in a row (n0 - n1 - ...), with
// the pool 10.0.0.0/8 so that it holds up to 65536 links: the benchmark's
// and the scale tests' lab.
func ChainFile(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: chain%d\naddressing: {ipv4: 10.0.0.0/8}\nnodes:\n", n)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [n%d, n%d]\n", i-1, i)
	}
	return []byte(b.String())
}
