// Package bench holds what npte's benchmarks share: a generated chain of
// namespaces ns1 - ns2 - ... - nsN, as the npte command lines a user
// script would run one by one (Ops, OpPlans) and as one composite Plan
// under a single lock (Chain), the way a built-in lab of that size would
// be built.
//
// The Go benchmarks in netns/ and render/ build and render these plans;
// bench/run.sh runs the same operations as whole processes, in a private
// sandbox, and prints a table (make bench). The test in this package runs
// run.sh in a tiny configuration so that it cannot rot.
//
// Addressing: link i joins ns(i) and ns(i+1) on 10.H.L.0/24, where H.L is
// i in base 256; ns(i) holds .1 on if-ns(i+1), ns(i+1) holds .2 on
// if-ns(i). Every namespace but the last has its default route via its
// right neighbour, the last via its left one; ns3 .. ns(N-1) route
// 10.0.1.0/24 (ns1's link) via their left neighbour, so that a ping from
// ns1 to nsN gets its answer.
package bench

import (
	"net/netip"
	"strconv"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
)

// MaxLinks is the largest link index the addressing scheme can number.
const MaxLinks = 65535

// Name is the name of the i-th namespace of the chain (1-based): "ns1".
func Name(i int) string { return "ns" + strconv.Itoa(i) }

// LinkAddrs are the addresses of link i (1-based, joining Name(i) and
// Name(i+1)): left on Name(i)'s end, right on Name(i+1)'s end.
func LinkAddrs(i int) (left, right netip.Prefix) {
	a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
	b := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 2})
	return netip.PrefixFrom(a, 24), netip.PrefixFrom(b, 24)
}

// op is one operation of the chain.
type op struct {
	verb  string // create, connect, assign-addr, add-route
	ns    string // the namespace (create, assign-addr, add-route), or LEFT
	other string // RIGHT (connect), IFACE (assign-addr)
	cidr  netip.Prefix
	via   netip.Addr
}

// ops lists the chain's operations in the order a script runs them: n
// creates, n-1 connects, 2(n-1) address assignments, n default routes
// (none for n = 1: a lone namespace has no neighbour to route through).
func ops(n int) []op {
	if n < 1 || n > MaxLinks {
		panic("bench: chain length out of range: " + strconv.Itoa(n))
	}
	out := make([]op, 0, 5*n)
	for i := 1; i <= n; i++ {
		out = append(out, op{verb: "create", ns: Name(i)})
	}
	for i := 1; i < n; i++ {
		out = append(out, op{verb: "connect", ns: Name(i), other: Name(i + 1)})
	}
	for i := 1; i < n; i++ {
		l, r := Name(i), Name(i+1)
		la, ra := LinkAddrs(i)
		out = append(out,
			op{verb: "assign-addr", ns: l, other: netns.LinkName(r), cidr: la},
			op{verb: "assign-addr", ns: r, other: netns.LinkName(l), cidr: ra})
	}
	for i := 1; i <= n && n > 1; i++ {
		var via netip.Addr
		if i < n {
			_, r := LinkAddrs(i)
			via = r.Addr()
		} else {
			l, _ := LinkAddrs(i - 1)
			via = l.Addr()
		}
		out = append(out, op{verb: "add-route", ns: Name(i), via: via})
	}
	// The way back to ns1 (a ping end to end): ns3 .. ns(n-1) route the
	// first link's subnet via their left neighbour; ns2 is on it, nsN's
	// default route already goes left.
	first, _ := LinkAddrs(1)
	for i := 3; i < n; i++ {
		left, _ := LinkAddrs(i - 1)
		out = append(out, op{verb: "add-route", ns: Name(i), cidr: first.Masked(), via: left.Addr()})
	}
	return out
}

// dest is an add-route's destination: "default", or its subnet.
func (o op) dest() string {
	if o.cidr.IsValid() {
		return o.cidr.String()
	}
	return "default"
}

// argv is the npte command line of o, without "npte".
func (o op) argv() []string {
	switch o.verb {
	case "create":
		return []string{"netns", "create", o.ns}
	case "connect":
		return []string{"netns", "connect", o.ns, o.other}
	case "assign-addr":
		return []string{"netns", "assign-addr", o.ns, o.other, o.cidr.String()}
	default:
		return []string{"netns", "add-route", o.ns, o.dest(), o.via.String()}
	}
}

// plan is the plan of one npte invocation running o.
func (o op) plan() plan.Plan {
	switch o.verb {
	case "create":
		return netns.Create(o.ns, netns.DefaultDNS)
	case "connect":
		return netns.Connect(o.ns, o.other)
	case "assign-addr":
		return netns.AssignAddr(o.ns, o.other, o.cidr)
	default:
		p, err := netns.AddRoute(o.ns, o.dest(), o.via, "")
		if err != nil {
			panic(err) // a chain's next hops are unicast addresses
		}
		return p
	}
}

// steps are o's steps without the lock, for a composite plan.
func (o op) steps() []plan.Step {
	switch o.verb {
	case "create":
		return netns.CreateSteps(o.ns, netns.DefaultDNS)
	case "connect":
		return netns.ConnectSteps(o.ns, o.other)
	case "assign-addr":
		return netns.AssignAddrSteps(o.ns, o.other, o.cidr)
	default:
		return netns.AddRouteSteps(o.ns, o.dest(), o.via, "")
	}
}

// Ops returns the npte command lines (without "npte") that build a chain
// of n namespaces, one invocation per operation: n creates, n-1 connects,
// 2(n-1) assign-addrs, n default routes (none for n = 1) and, in ns3 ..
// ns(n-1), a route back to ns1's link. It panics when n
// is out of 1..MaxLinks.
func Ops(n int) [][]string {
	all := ops(n)
	out := make([][]string, len(all))
	for i, o := range all {
		out[i] = o.argv()
	}
	return out
}

// OpPlans returns the plans of Ops(n), one per invocation, each under its
// own lock: what n separate npte runs build.
func OpPlans(n int) []plan.Plan {
	all := ops(n)
	out := make([]plan.Plan, len(all))
	for i, o := range all {
		out[i] = o.plan()
	}
	return out
}

// Chain returns the operations of Ops(n) as one Plan under one lock, the
// way a lab builder composes the netns step builders.
func Chain(n int) plan.Plan {
	all := ops(n)
	steps := make([]plan.Step, 0, 1+8*len(all))
	steps = append(steps, plan.Lock{})
	// As lab create: the guards of every create before the first change,
	// so that a refusal changes nothing.
	for _, o := range all {
		if o.verb == "create" {
			steps = append(steps, netns.CreateGuards(o.ns)...)
		}
	}
	for _, o := range all {
		if o.verb == "create" {
			steps = append(steps, netns.CreateActions(o.ns, netns.DefaultDNS)...)
			continue
		}
		steps = append(steps, o.steps()...)
	}
	return plan.Plan{Argv: []string{"lab", "chain", strconv.Itoa(n)}, Steps: steps,
		Undo: []string{"lab", "chain", "--destroy", strconv.Itoa(n)}}
}

// ChainDestroy is the teardown of Chain(n) as lab destroy does it: under
// one lock, netns.DestroySteps for each namespace npte made (IfOwned), so
// that it cleans up a half-built chain too.
func ChainDestroy(n int) plan.Plan {
	if n < 1 || n > MaxLinks {
		panic("bench: chain length out of range: " + strconv.Itoa(n))
	}
	steps := []plan.Step{plan.Lock{}}
	for i := 1; i <= n; i++ {
		steps = append(steps, plan.IfOwned{Name: Name(i), Then: netns.DestroySteps(Name(i))})
	}
	return plan.Plan{Argv: []string{"lab", "chain", "--destroy", strconv.Itoa(n)}, Steps: steps}
}
