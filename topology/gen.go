package topology

import (
	"fmt"
	"strings"
)

// ChainFile returns a lab file of n nodes in a row (n0 - n1 - ...), with
// an IPv4 pool in 10.0.0.0/8 just wide enough for its links (at most
// 65536): the benchmark's and the scale tests' lab.
func ChainFile(n int) []byte {
	var b strings.Builder
	bits := 24
	for bits > 8 && 1<<(24-bits) < n-1 {
		bits--
	}
	fmt.Fprintf(&b, "name: chain%d\naddressing: {ipv4: 10.0.0.0/%d}\nnodes:\n", n, bits)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  n%d: {}\n", i)
	}
	b.WriteString("links:\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - [n%d, n%d]\n", i-1, i)
	}
	return []byte(b.String())
}
