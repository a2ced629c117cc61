// Package lab holds what npte knows about its built-in client/router/
// server lab beyond its lab file: the names and addresses `npte lab netem`
// shapes (the router's if-client and if-server), the typed profiles, and
// Netem, a pure Plan builder composed from the shaping builders (package
// shape).
//
// The lab itself is the embedded lab file examples/builtin.yaml: `npte lab
// create` is `npte lab apply` of it (package topology, Builtin). Create and
// Destroy below are its hand-written form, from before the lab file: no
// verb runs them any more; they stay as a reference (a live test in cli
// proves that the lab file builds exactly their kernel state) and as a
// composite plan for other packages' tests and benchmarks.
//
// Topology and addressing (172.16.0.0/16; the third octet names the link):
//
//	client if-router 172.16.3.2/24 --- 172.16.3.1/24 if-client router
//	router if-server 172.16.2.1/24 --- 172.16.2.2/24 if-router server
//	router uplink    172.16.1.0/24 reserved for `npte gateway create router 172.16.1.0/24 IFACE`
//
// The client's and the server's default routes go through the router.
package lab

import (
	"net/netip"

	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shape"
)

// Namespace names of the lab.
const (
	Client = "client"
	Router = "router"
	Server = "server"
)

// Names are the lab's namespaces in creation order.
var Names = []string{Client, Router, Server}

// Addressing plan.
var (
	ClientAddr       = netip.MustParsePrefix("172.16.3.2/24") // client, if-router
	RouterClientAddr = netip.MustParsePrefix("172.16.3.1/24") // router, if-client
	ServerAddr       = netip.MustParsePrefix("172.16.2.2/24") // server, if-router
	RouterServerAddr = netip.MustParsePrefix("172.16.2.1/24") // router, if-server
	// GatewaySubnet is reserved for the router's uplink (npte gateway).
	GatewaySubnet = netip.MustParsePrefix("172.16.1.0/24")
)

// Downlink and Uplink are the router interfaces that lab netem shapes:
// the downlink carries router -> client traffic, the uplink router ->
// server traffic. Shaping sits on the router because forwarded packets
// are not held back by TCP small queues in the sender, so the shaping
// queues really fill as they would on a real bottleneck.
var (
	Downlink = netns.LinkName(Client) // router's if-client
	Uplink   = netns.LinkName(Server) // router's if-server
)

// Create is the hand-written form of the built-in lab (what `npte lab
// create` ran before the lab file; see the package comment): under one
// lock, check that none of client,
// router and server is taken (netns.CreateGuards, all three before any
// change, so that a refusal changes nothing), create them
// (netns.CreateActions, default resolvers), connect client and
// server to the router (netns.ConnectSteps), address the four ends
// (netns.AssignAddrSteps) and route the leaves through the router
// (netns.AddRouteSteps). A failure half-way leaves markers or intent
// records on what was made, so `npte lab destroy` cleans it up.
func Create() plan.Plan {
	steps := []plan.Step{plan.Lock{}}
	for _, n := range Names {
		steps = append(steps, netns.CreateGuards(n)...)
	}
	for _, n := range Names {
		steps = append(steps, netns.CreateActions(n, netns.DefaultDNS)...)
	}
	steps = append(steps, netns.ConnectSteps(Client, Router)...)
	steps = append(steps, netns.ConnectSteps(Server, Router)...)
	steps = append(steps, netns.AssignAddrSteps(Client, netns.LinkName(Router), ClientAddr)...)
	steps = append(steps, netns.AssignAddrSteps(Router, netns.LinkName(Client), RouterClientAddr)...)
	steps = append(steps, netns.AssignAddrSteps(Server, netns.LinkName(Router), ServerAddr)...)
	steps = append(steps, netns.AssignAddrSteps(Router, netns.LinkName(Server), RouterServerAddr)...)
	steps = append(steps, netns.AddRouteSteps(Client, "default", RouterClientAddr.Addr(), "")...)
	steps = append(steps, netns.AddRouteSteps(Server, "default", RouterServerAddr.Addr(), "")...)
	steps = append(steps, plan.Note{Text: "lab ready: client 172.16.3.2 -> router -> server 172.16.2.2; " +
		GatewaySubnet.String() + " is reserved for an uplink: npte gateway create router " + GatewaySubnet.String() + " IFACE"})
	return plan.Plan{Argv: []string{"lab", "create"}, Steps: steps, Undo: []string{"lab", "destroy"}}
}

// Destroy is the hand-written teardown of the built-in lab (what `npte
// lab destroy` ran before the lab file): under one lock, for each of client,
// server and router that carries npte's marker or intent record
// (plan.IfOwned), netns.DestroySteps; a namespace npte did not make is
// skipped with a message and left alone. It works on a half-built lab and
// succeeds when there is no lab at all. A gateway that npte recorded for
// one of them (`npte gateway create router ...`) goes too: its host table
// or chains, and its host link if it carries npte's link group
// (netns.GatewayRemoveSteps, part of NetnsDestroySteps).
func Destroy() plan.Plan {
	steps := []plan.Step{plan.Lock{}}
	for _, n := range []string{Client, Server, Router} {
		steps = append(steps, plan.IfOwned{Name: n, Then: netns.DestroySteps(n)})
	}
	return plan.Plan{Argv: []string{"lab", "destroy"}, Steps: steps}
}

// Netem is `npte lab netem [--profile NAME]`: under one lock, check the
// router and both of its lab interfaces, then make the downlink and the
// uplink carry exactly the profile's shaping (any ingress shaping is
// cleared, the egress rebuilt with shape.ShapeSteps, after
// shape.KernelGuard has checked the kernel has every qdisc they use), or, with no profile,
// clear both (shape.ClearSteps, both directions).
// p is nil for "no profile".
func Netem(p *Profile) (plan.Plan, error) {
	steps := []plan.Step{plan.Lock{}}
	steps = append(steps, shape.Guard(Router, Downlink)...)
	steps = append(steps, plan.RequireIface{NS: Router, Iface: Uplink})
	argv := []string{"lab", "netem"}
	if p == nil {
		steps = append(steps, shape.ClearSteps(Router, Downlink, shape.Both)...)
		steps = append(steps, shape.ClearSteps(Router, Uplink, shape.Both)...)
		return plan.Plan{Argv: argv, Steps: steps}, nil
	}
	down, up, err := p.Specs()
	if err != nil {
		return plan.Plan{}, err
	}
	steps = append(steps, shape.KernelGuard(shape.Egress, down, up)...)
	src := p.Source
	if p.URL != "" {
		src += ", " + p.URL
	}
	steps = append(steps, plan.Note{Text: "profile " + p.Name + ": " + p.Description + " (source: " + src + ")"})
	steps = append(steps, shape.ClearSteps(Router, Downlink, shape.Ingress)...)
	steps = append(steps, shape.ShapeSteps(Router, Downlink, shape.Egress, down)...)
	steps = append(steps, shape.ClearSteps(Router, Uplink, shape.Ingress)...)
	steps = append(steps, shape.ShapeSteps(Router, Uplink, shape.Egress, up)...)
	return plan.Plan{
		Argv:  append(argv, "--profile", p.Name),
		Steps: steps,
		Undo:  []string{"lab", "netem"},
	}, nil
}
