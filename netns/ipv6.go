package netns

import "github.com/npte/npte/plan"

// NoIPv6 is the one line npte prints (after "npte: ") when an IPv6
// address, route or subnet is asked of a kernel without IPv6 (booted with
// ipv6.disable=1, or without the ipv6 module).
const NoIPv6 = "this kernel has no IPv6: see npte doctor"

// RequireIPv6 refuses to go on (exit 2, before any change) on a kernel
// without IPv6: net.ipv6.conf.all.forwarding exists on every kernel that
// has IPv6, in every network namespace.
//
// Renders as:
//
//	if ! sysctl -n net.ipv6.conf.all.forwarding >/dev/null 2>&1; then
//		echo 'npte: this kernel has no IPv6: see npte doctor' >&2; exit 2; fi
func RequireIPv6() plan.Step {
	return plan.Probe{Argv: []string{"sysctl", "-n", "net.ipv6.conf.all.forwarding"}, WantSuccess: true, Message: NoIPv6}
}

// IPv6ForwardingSysctl is the one sysctl of a new namespace that exists
// only on a kernel with IPv6; netns create sets it tolerantly, so that
// namespaces (and labs) work on IPv6-less kernels.
const IPv6ForwardingSysctl = "net.ipv6.conf.all.forwarding=1"
