package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"sort"
	"strings"

	"github.com/npte/npte/gateway"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/plan"
	"github.com/npte/npte/shape"
)

// Record paths, under the state root (/run/npte): the applied lab is
// ROOT/lab/NAME/lab.json (the resolved lab, canonical JSON), its sha256
// in ROOT/lab/NAME/digest; while an apply that changes a lab runs,
// ROOT/lab/NAME/previous.json holds the lab it started from, so that
// `lab destroy` after a crash removes the union of both.
const (
	RecordFile   = "lab.json"
	DigestFile   = "digest"
	PreviousFile = "previous.json"
)

// LabsDir is the directory of lab records under root.
func LabsDir(root string) string { return root + "/lab" }

// RecordDir is the record directory of lab name under root.
func RecordDir(root, name string) string { return LabsDir(root) + "/" + name }

// Encode is the canonical JSON of the lab: its record.
func (l *Lab) Encode() []byte {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // a Lab always encodes
	}
	return b
}

// Digest is the sha256 of Encode, hex; for a lab made by Refresh, the
// Digest of the record it was refreshed from.
func (l *Lab) Digest() string {
	if l.digest != "" {
		return l.digest
	}
	return digest(l.Encode())
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// DecodeRecord reads a record written by Encode.
func DecodeRecord(b []byte) (*Lab, error) {
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Apply is `npte lab apply FILE`: one plan, under one lock, that makes
// the kernel match l, starting from old (the lab's record, or nil when
// the lab does not exist). Every guard comes before the first change:
// that the record is still old (its digest) or that there is none, that
// each new node's name is free, that the kernel has what the shapings
// and IPv6 need, that each kept node is still npte's. Then, in order:
// the record of the lab to be (previous.json keeps old), removals
// (routes, shapings, addresses, links, uplink, nodes), then nodes,
// links, addresses, routes, shapings and uplink added or changed, and
// last the drop of previous.json. With nothing to change the plan holds
// only the guards. root is the state root (/run/npte).
func Apply(l, old *Lab, root string, argv []string) plan.Plan {
	dir := RecordDir(root, l.Name)
	changes := Diff(old, l)
	steps := []plan.Step{plan.Lock{}}
	steps = append(steps, plan.RequireNoSymlink{Paths: []string{LabsDir(root), dir, dir + "/" + RecordFile, dir + "/" + DigestFile, dir + "/" + PreviousFile}})
	if old == nil {
		steps = append(steps, plan.RequireLabRecord{Name: l.Name})
	} else {
		steps = append(steps, plan.RequireLabRecord{Name: l.Name, Digest: old.Digest()})
	}
	has := func(op, kind string) map[string]Change {
		m := map[string]Change{}
		for _, c := range changes {
			if c.Kind == kind && strings.Contains(op, c.Op) {
				m[c.Key] = c
			}
		}
		return m
	}
	addedNodes, removedNodes := has("+", "node"), has("-", "node")
	// Guards.
	for _, n := range l.Nodes {
		if _, ok := addedNodes[n.Name]; ok {
			steps = append(steps, netns.CreateGuards(n.Name)...)
		} else {
			steps = append(steps, plan.RequireManaged{Name: n.Name})
		}
	}
	if wantsIPv6(changes) {
		steps = append(steps, netns.RequireIPv6())
	}
	var specs []shape.Spec
	for _, c := range changes {
		if c.Kind == "shape" && c.Op != "-" {
			specs = append(specs, l.specs[c.Key])
		}
	}
	if len(specs) > 0 {
		steps = append(steps, shape.KernelGuard(shape.Egress, specs...)...)
	}
	if len(changes) == 0 {
		steps = append(steps, plan.Note{Text: "lab " + l.Name + ": no changes"})
		return plan.Plan{Argv: argv, Steps: steps}
	}
	// The record first: destroy must know every node that may exist.
	if old != nil {
		steps = append(steps, plan.WriteLabRecord{Name: l.Name, File: PreviousFile, Content: string(old.Encode())})
	}
	enc := l.Encode()
	steps = append(steps,
		plan.WriteLabRecord{Name: l.Name, File: RecordFile, Content: string(enc)},
		plan.WriteLabRecord{Name: l.Name, File: DigestFile, Content: digest(enc) + "\n"})

	// Removals, in reverse build order (Diff's order).
	gone := func(node string) bool { _, ok := removedNodes[node]; return ok }
	oldLinks := map[string]LinkSpec{}
	if old != nil {
		for _, lk := range old.Links {
			oldLinks[linkKey(lk)] = lk
		}
	}
	removedLinkIfaces := map[string]bool{} // "node iface" of links that go
	for _, c := range changes {
		if c.Op == "-" && c.Kind == "link" {
			lk := oldLinks[c.Key]
			removedLinkIfaces[lk.A.Node+" "+lk.A.Iface] = true
			removedLinkIfaces[lk.B.Node+" "+lk.B.Iface] = true
		}
	}
	for _, c := range changes {
		if c.Op != "-" {
			continue
		}
		f := strings.Fields(c.Key)
		switch c.Kind {
		case "uplink":
			steps = append(steps, gateway.Destroy(c.Key).Steps[1:]...)
		case "shape":
			if !gone(f[0]) && !removedLinkIfaces[c.Key] {
				steps = append(steps, shape.ClearSteps(f[0], f[1], shape.Egress)...)
			}
		case "route":
			if !gone(f[0]) {
				steps = append(steps, routeDel(old, c.Key))
			}
		case "address":
			if !gone(f[0]) && !removedLinkIfaces[f[0]+" "+f[1]] {
				p := netip.MustParsePrefix(f[2])
				steps = append(steps, plan.Command{Argv: []string{"ip", "-n", f[0], "addr", "del", p.String(), "dev", f[1]}})
			}
		case "link":
			lk := oldLinks[c.Key]
			switch {
			case !gone(lk.A.Node):
				steps = append(steps, plan.Command{Argv: []string{"ip", "-n", lk.A.Node, "link", "delete", "dev", lk.A.Iface}})
			case !gone(lk.B.Node):
				steps = append(steps, plan.Command{Argv: []string{"ip", "-n", lk.B.Node, "link", "delete", "dev", lk.B.Iface}})
			}
		case "node":
			steps = append(steps, plan.IfOwned{Name: c.Key, Then: netns.DestroySteps(c.Key)})
		}
	}
	// Additions and changes, in build order.
	newLinks := map[string]LinkSpec{}
	for _, lk := range l.Links {
		newLinks[linkKey(lk)] = lk
	}
	routes := map[string]RouteSpec{}
	for _, r := range l.Routes {
		routes[routeKey(r)] = r
	}
	nodeDNS := map[string][]string{}
	for _, n := range l.Nodes {
		nodeDNS[n.Name] = n.DNS
	}
	for _, c := range changes {
		if c.Op == "-" {
			continue
		}
		f := strings.Fields(c.Key)
		switch c.Kind {
		case "node":
			if c.Op == "+" {
				steps = append(steps, netns.CreateActions(c.Key, nodeDNS[c.Key])...)
			} else {
				steps = append(steps, dnsSteps(c.Key, nodeDNS[c.Key]))
			}
		case "link":
			steps = append(steps, linkSteps(newLinks[c.Key])...)
		case "address":
			p := netip.MustParsePrefix(f[2])
			argv := []string{"ip", "-n", f[0], "addr", "replace", p.String(), "dev", f[1]}
			if p.Addr().Is6() {
				argv = append(argv, "nodad")
			}
			steps = append(steps, plan.Command{Argv: argv})
		case "route":
			r := routes[c.Key]
			argv := []string{"ip", "-n", r.Node}
			if r.Via.Is6() {
				argv = append(argv, "-6")
			}
			steps = append(steps, plan.Command{Argv: append(argv, "route", "replace", r.To, "via", r.Via.String(), "dev", r.Dev)})
		case "shape":
			steps = append(steps, shape.ShapeSteps(f[0], f[1], shape.Egress, l.specs[c.Key])...)
		case "uplink":
			u := l.Uplink
			if c.Op == "~" {
				steps = append(steps, gateway.Destroy(u.Node).Steps[1:]...)
			}
			cfg := gateway.Config{NS: u.Node, Subnet: u.Subnet, Subnet6: u.Subnet6, Ext: u.Iface, Firewall: gateway.Firewall(u.Firewall)}
			steps = append(steps, gateway.Create(cfg).Steps[1:]...)
		}
	}
	if old != nil {
		steps = append(steps, plan.RemoveLabRecord{Name: l.Name, File: PreviousFile})
	}
	steps = append(steps, plan.Note{Text: "lab " + l.Name + " applied: " + summary(changes)})
	return plan.Plan{Argv: argv, Steps: steps, Undo: []string{"lab", "destroy", l.Name}}
}

func summary(cs []Change) string {
	var add, chg, del int
	for _, c := range cs {
		switch c.Op {
		case "+":
			add++
		case "~":
			chg++
		default:
			del++
		}
	}
	return itoa(add) + " added, " + itoa(chg) + " changed, " + itoa(del) + " removed"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func wantsIPv6(cs []Change) bool {
	for _, c := range cs {
		if c.Op == "-" {
			continue
		}
		// Interface names hold no ':', so only an IPv6 address does.
		if c.Kind == "address" && strings.Contains(c.Key, ":") || c.Kind == "route" && strings.Contains(c.Key, " -6 ") {
			return true
		}
	}
	return false
}

func dnsSteps(name string, dns []string) plan.Step {
	if len(dns) == 0 {
		return plan.Command{Argv: []string{"rm", "-f", "--", plan.EtcNetnsDir(name) + "/resolv.conf"}}
	}
	var conf strings.Builder
	for _, d := range dns {
		conf.WriteString("nameserver " + d + "\n")
	}
	return plan.Command{Argv: []string{"install", "-D", "-m", "0644", "/dev/stdin", plan.EtcNetnsDir(name) + "/resolv.conf"}, Stdin: conf.String()}
}

// linkSteps creates one veth link, each end born in its namespace with
// npte's link group, and brings both ends up.
func linkSteps(lk LinkSpec) []plan.Step {
	a, b := lk.A, lk.B
	return []plan.Step{
		plan.Command{Argv: []string{"ip", "link", "add", "name", a.Iface, "netns", a.Node, "group", netns.LinkGroup, "type", "veth", "peer", "name", b.Iface, "netns", b.Node, "group", netns.LinkGroup}},
		plan.Command{Argv: []string{"ip", "-n", a.Node, "link", "set", "dev", a.Iface, "up"}},
		plan.Command{Argv: []string{"ip", "-n", b.Node, "link", "set", "dev", b.Iface, "up"}},
	}
}

func routeDel(old *Lab, key string) plan.Step {
	for _, r := range old.Routes {
		if routeKey(r) == key {
			argv := []string{"ip", "-n", r.Node}
			if r.Via.Is6() {
				argv = append(argv, "-6")
			}
			return plan.Command{Argv: append(argv, "route", "del", r.To, "via", r.Via.String()), Tolerant: true,
				Show: "remove the route to " + r.To + " on " + r.Node + " (gone already if its link went)"}
		}
	}
	return plan.Note{Text: "no route " + key}
}

// Destroy is `npte lab destroy NAME|FILE`: under one lock, each node of
// the labs (the record, and previous.json of an apply that did not
// finish) that npte made is destroyed as by netns destroy (its uplink
// with it), a node npte did not make is skipped with a message; then the
// record goes. It works on a half-built lab.
func Destroy(name string, labs []*Lab, root string) plan.Plan {
	dir := RecordDir(root, name)
	seen := map[string]bool{}
	var nodes []string
	for _, l := range labs {
		if l == nil {
			continue
		}
		for _, n := range l.Nodes {
			if !seen[n.Name] {
				seen[n.Name] = true
				nodes = append(nodes, n.Name)
			}
		}
	}
	sort.Strings(nodes)
	steps := []plan.Step{plan.Lock{}, plan.RequireNoSymlink{Paths: []string{LabsDir(root), dir}}}
	for _, n := range nodes {
		steps = append(steps, plan.IfOwned{Name: n, Then: netns.DestroySteps(n)})
	}
	steps = append(steps, plan.RemoveLabRecord{Name: name})
	return plan.Plan{Argv: []string{"lab", "destroy", name}, Steps: steps}
}
