package netns

import (
	"net/netip"

	"github.com/npte/npte/plan"
)

// LinkGroup is the interface group (ip link ... group N) of every veth end
// npte creates between namespaces. destroy deletes the group before the
// namespace: deleting a veth end removes its peer at once, whereas the
// kernel tears a deleted namespace down asynchronously, and the far ends of
// its links would linger in the peers for a while (long enough for an
// immediate re-create and re-connect to find them still there).
const LinkGroup = "28272"

// LinkName is the name of the interface inside one namespace that leads to
// peer: "if-PEER". With validated names it fits in 15 bytes.
func LinkName(peer string) string { return "if-" + peer }

// ConnectSteps links two managed namespaces (the caller holds the
// lock): refuse unless both are managed and neither end exists yet, then
// create the veth pair with each end born in its namespace, in one
// command (nothing ever appears on the host side, even if it fails), and
// bring both ends up. left and right must be distinct validated names.
//
// Renders as (after the marker guards):
//
//	if ip -n LEFT link show dev if-RIGHT >/dev/null 2>&1; then echo ... >&2; exit 2; fi
//	if ip -n RIGHT link show dev if-LEFT >/dev/null 2>&1; then echo ... >&2; exit 2; fi
//	ip link add name if-RIGHT netns LEFT group 28272 type veth peer name if-LEFT netns RIGHT group 28272
//	ip -n LEFT link set dev if-RIGHT up
//	ip -n RIGHT link set dev if-LEFT up
func ConnectSteps(left, right string) []plan.Step {
	l, r := LinkName(right), LinkName(left)
	return []plan.Step{
		plan.RequireManaged{Name: left},
		plan.RequireManaged{Name: right},
		plan.Probe{Argv: []string{"ip", "-n", left, "link", "show", "dev", l}, Message: left + " already has an interface " + l + " (are " + left + " and " + right + " already connected?)"},
		plan.Probe{Argv: []string{"ip", "-n", right, "link", "show", "dev", r}, Message: right + " already has an interface " + r + " (are " + left + " and " + right + " already connected?)"},
		plan.Command{Argv: []string{"ip", "link", "add", "name", l, "netns", left, "group", LinkGroup, "type", "veth", "peer", "name", r, "netns", right, "group", LinkGroup}},
		plan.Command{Argv: []string{"ip", "-n", left, "link", "set", "dev", l, "up"}},
		plan.Command{Argv: []string{"ip", "-n", right, "link", "set", "dev", r, "up"}},
	}
}

// Connect is `npte netns connect LEFT RIGHT`: the lock, then
// ConnectSteps. It has no Undo: if a step after the veth pair's
// creation fails, `npte netns destroy` of either side removes the pair.
func Connect(left, right string) plan.Plan {
	return plan.Plan{
		Argv:  []string{"netns", "connect", left, right},
		Steps: append([]plan.Step{plan.Lock{}}, ConnectSteps(left, right)...),
	}
}

// AssignAddrSteps adds address cidr to iface in managed namespace ns
// (the caller holds the lock). It uses `ip addr replace`, so assigning the
// same address twice is not an error. IPv6 addresses skip duplicate address
// detection (nodad): lab links have no duplicates, and DAD would leave the
// address unusable for the first second or two. iface must have passed
// validate.IfaceName; cidr may have host bits (it is an interface address).
//
// Renders as (after the marker guard):
//
//	if ! ip -n NS link show dev IFACE >/dev/null 2>&1; then echo ... >&2; exit 2; fi
//	[if ! sysctl -n net.ipv6.conf.all.forwarding ...; then ... exit 2; fi]   (IPv6: RequireIPv6)
//	ip -n NS addr replace CIDR dev IFACE [nodad]
func AssignAddrSteps(ns, iface string, cidr netip.Prefix) []plan.Step {
	argv := []string{"ip", "-n", ns, "addr", "replace", cidr.String(), "dev", iface}
	if cidr.Addr().Is6() {
		argv = append(argv, "nodad")
	}
	steps := []plan.Step{
		plan.RequireManaged{Name: ns},
		plan.RequireIface{NS: ns, Iface: iface},
	}
	if cidr.Addr().Is6() {
		steps = append(steps, RequireIPv6())
	}
	return append(steps, plan.Command{Argv: argv})
}

// AssignAddr is `npte netns assign-addr NS IFACE CIDR`.
func AssignAddr(ns, iface string, cidr netip.Prefix) plan.Plan {
	return plan.Plan{
		Argv:  []string{"netns", "assign-addr", ns, iface, cidr.String()},
		Steps: append([]plan.Step{plan.Lock{}}, AssignAddrSteps(ns, iface, cidr)...),
	}
}

// AddRouteSteps adds a route to dest ("default" or a prefix) via
// the address via in managed namespace ns, optionally through dev (the
// caller holds the lock and checked that dest and via are of one family).
// It uses `ip route replace`, so adding the same route twice is not an
// error. dest is the literal "default" or a prefix without host bits
// (validate.Subnet) of via's family; dev, when not empty, passed
// validate.IfaceName. The -6 flag makes "default" mean the IPv6 default
// route when via is IPv6.
//
// Renders as (after the marker guard):
//
//	[if ! ip -n NS link show dev DEV >/dev/null 2>&1; then echo ... >&2; exit 2; fi]
//	[if ! sysctl -n net.ipv6.conf.all.forwarding ...; then ... exit 2; fi]   (IPv6: RequireIPv6)
//	ip -n NS [-6] route replace DEST via VIA [dev DEV]
func AddRouteSteps(ns, dest string, via netip.Addr, dev string) []plan.Step {
	argv := []string{"ip", "-n", ns}
	if via.Is6() {
		argv = append(argv, "-6")
	}
	argv = append(argv, "route", "replace", dest, "via", via.String())
	steps := []plan.Step{plan.RequireManaged{Name: ns}}
	if dev != "" {
		argv = append(argv, "dev", dev)
		steps = append(steps, plan.RequireIface{NS: ns, Iface: dev})
	}
	if via.Is6() {
		steps = append(steps, RequireIPv6())
	}
	return append(steps, plan.Command{Argv: argv})
}

// AddRoute is `npte netns add-route NS DEST VIA [--dev IFACE]`.
func AddRoute(ns, dest string, via netip.Addr, dev string) plan.Plan {
	argv := []string{"netns", "add-route"}
	if dev != "" {
		argv = append(argv, "--dev", dev)
	}
	return plan.Plan{
		Argv:  append(argv, ns, dest, via.String()),
		Steps: append([]plan.Step{plan.Lock{}}, AddRouteSteps(ns, dest, via, dev)...),
	}
}
