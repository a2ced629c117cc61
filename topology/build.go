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
// in ROOT/lab/NAME/digest; while an apply runs,
// ROOT/lab/NAME/previous.json holds the lab it started from (the empty
// lab for a new one), so that `lab destroy` after a crash removes the
// union of both and a second apply refuses until then.
const (
	RecordFile   = "lab.json"
	DigestFile   = "digest"
	PreviousFile = "previous.json"
)

// LabsDir is the directory of lab records under root.
func LabsDir(root string) string { return root + "/lab" }

// RecordDir is the record directory of lab name under root.
func RecordDir(root, name string) string { return LabsDir(root) + "/" + name }

// Encode is the canonical JSON of the lab: its record. It is
// encoding/json's Marshal of the Lab, byte for byte (TestEncodeIsMarshal),
// written by hand because a large lab's record is most of the time of a
// plan: the reflection-free encoder is several times faster. It appends
// to a local slice (append style: no write barrier per write, as a
// buffer in a struct would have).
func (l *Lab) Encode() []byte {
	return appendLab(make([]byte, 0, 256+64*len(l.Nodes)+256*len(l.Links)+96*len(l.Routes)), l)
}

// jsonPlain reports whether encoding/json writes c as it is in a
// string: printable ASCII but " \ < > &.
func jsonPlain(c byte) bool {
	return 0x20 <= c && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// appendStr writes s as encoding/json does: quoted, with HTML
// characters, control characters and invalid UTF-8 escaped. Plain
// printable ASCII (every name and address) is written as it is;
// anything else goes through encoding/json.
func appendStr(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain(s[i]) {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStrs(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, s)
	}
	return append(b, ']')
}

// appendPrefix writes p's MarshalText (its AppendTo) as a JSON string:
// digits, hex digits, '.', ':' and '/' only (or "invalid Prefix").
func appendPrefix(b []byte, p netip.Prefix) []byte {
	b = append(b, '"')
	b = p.AppendTo(b)
	return append(b, '"')
}

func appendPrefixes(b []byte, ps []netip.Prefix) []byte {
	if ps == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPrefix(b, p)
	}
	return append(b, ']')
}

// appendAddr writes a's MarshalText as a JSON string; a zone, which may
// hold anything, goes through appendStr.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Zone() != "" {
		t, _ := a.MarshalText()
		return appendStr(b, string(t))
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendEnd(b []byte, x *End) []byte {
	b = append(b, `{"node":`...)
	b = appendStr(b, x.Node)
	b = append(b, `,"iface":`...)
	b = appendStr(b, x.Iface)
	b = append(b, `,"addrs":`...)
	b = appendPrefixes(b, x.Addrs)
	if x.Shape != "" {
		b = append(b, `,"shape":`...)
		b = appendStr(b, x.Shape)
	}
	if len(x.ShapeArgs) > 0 {
		b = append(b, `,"shape_args":`...)
		b = appendStrs(b, x.ShapeArgs)
	}
	return append(b, '}')
}

// appendList encodes xs as json.Marshal encodes a slice (null when nil),
// each element with item.
func appendList[T any](b []byte, xs []T, item func([]byte, *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = item(b, &xs[i])
	}
	return append(b, ']')
}

func appendNode(b []byte, n *NodeSpec) []byte {
	b = append(b, `{"name":`...)
	b = appendStr(b, n.Name)
	b = append(b, `,"dns":`...)
	b = appendStrs(b, n.DNS)
	return append(b, '}')
}

func appendLink(b []byte, lk *LinkSpec) []byte {
	b = append(b, `{"kind":`...)
	b = appendStr(b, lk.Kind)
	b = append(b, `,"a":`...)
	b = appendEnd(b, &lk.A)
	b = append(b, `,"b":`...)
	b = appendEnd(b, &lk.B)
	b = append(b, `,"subnets":`...)
	b = appendPrefixes(b, lk.Subnets)
	return append(b, '}')
}

func appendRoute(b []byte, r *RouteSpec) []byte {
	b = append(b, `{"node":`...)
	b = appendStr(b, r.Node)
	b = append(b, `,"to":`...)
	b = appendStr(b, r.To)
	b = append(b, `,"via":`...)
	b = appendAddr(b, r.Via)
	b = append(b, `,"dev":`...)
	b = appendStr(b, r.Dev)
	if r.Static {
		b = append(b, `,"static":true`...)
	}
	return append(b, '}')
}

func appendLab(b []byte, l *Lab) []byte {
	b = append(b, `{"name":`...)
	b = appendStr(b, l.Name)
	b = append(b, `,"ipv4_pool":`...)
	b = appendPrefix(b, l.IPv4Pool)
	if l.IPv6Pool != (netip.Prefix{}) {
		b = append(b, `,"ipv6_pool":`...)
		b = appendPrefix(b, l.IPv6Pool)
	}
	b = append(b, `,"nodes":`...)
	b = appendList(b, l.Nodes, appendNode)
	b = append(b, `,"links":`...)
	b = appendList(b, l.Links, appendLink)
	b = append(b, `,"routes":`...)
	b = appendList(b, l.Routes, appendRoute)
	if l.Uplink != nil {
		u, err := json.Marshal(l.Uplink)
		if err != nil {
			panic(err) // an UplinkSpec always encodes
		}
		b = append(b, `,"uplink":`...)
		b = append(b, u...)
	}
	return append(b, '}')
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
// the record of the lab to be (previous.json keeps old, or the empty lab
// for a new one, until the last step), removals
// (routes, shapings, addresses, links, uplink, nodes), then nodes,
// links, addresses, routes, shapings and uplink added or changed, and
// last the drop of previous.json. With nothing to change the plan holds
// only the guards. root is the state root (/run/npte).
func Apply(l, old *Lab, root string, argv []string) plan.Plan {
	return apply(l, old, root, argv, old == nil && len(l.Nodes) > 0)
}

// apply is Apply. direct, for a new lab (old nil) with nodes, builds the
// steps from the lab itself, in build order (Objects' order), without
// listing its changes (all of them additions): the same plan
// (TestApplyDirect), without the 12,000 changes of a 1000-node chain.
func apply(l, old *Lab, root string, argv []string, direct bool) plan.Plan {
	dir := RecordDir(root, l.Name)
	var changes []Change
	var added int // direct: the objects, all added
	// About the number of steps, so that steps grows once or never.
	size := 16 + 2*len(l.Nodes)
	if direct {
		for _, lk := range l.Links {
			added += 1 + len(lk.A.Addrs) + len(lk.B.Addrs)
			size += 3 + len(lk.A.Addrs) + len(lk.B.Addrs)
			for _, e := range [2]*End{&lk.A, &lk.B} {
				if e.Shape != "" {
					added++
					size += 9
				}
			}
		}
		added += len(l.Nodes) + len(l.Routes)
		size += 9*len(l.Nodes) + len(l.Routes)
		if l.Uplink != nil {
			added++
			size += 9
		}
	} else {
		changes = diff(old, l, false) // Apply uses no values of a new lab
		size += len(changes)
		for _, c := range changes {
			switch c.Kind {
			case "node":
				size += 9
			case "link", "shape", "uplink":
				size += 8
			}
		}
	}
	steps := make([]plan.Step, 0, size)
	steps = append(steps, plan.Lock{})
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
		if _, ok := addedNodes[n.Name]; ok || direct {
			steps = append(steps, netns.CreateGuards(n.Name)...)
		} else {
			steps = append(steps, plan.RequireManaged{Name: n.Name})
		}
	}
	if direct && labHasIPv6(l) || !direct && wantsIPv6(l, changes) {
		steps = append(steps, netns.RequireIPv6())
	}
	var specs []shape.Spec
	if direct {
		for _, lk := range l.Links {
			for _, e := range [2]*End{&lk.A, &lk.B} {
				if e.Shape != "" {
					specs = append(specs, l.specs[e.Node+" "+e.Iface])
				}
			}
		}
	}
	for _, c := range changes {
		if c.Kind == "shape" && c.Op != "-" {
			specs = append(specs, l.specs[c.Key])
		}
	}
	if len(specs) > 0 {
		steps = append(steps, shape.KernelGuard(shape.Egress, specs...)...)
	}
	if len(changes) == 0 && !direct {
		steps = append(steps, plan.Note{Text: "lab " + l.Name + ": no changes"})
		return plan.Plan{Argv: argv, Steps: steps}
	}
	// The record first: destroy must know every node that may exist.
	// previous.json says an apply is under way until the last step drops
	// it; for a new lab it holds the empty lab, so that an apply killed
	// half-way is never taken for a finished one (a second apply would
	// find nothing to change).
	from := old
	if from == nil {
		from = &Lab{Name: l.Name}
	}
	steps = append(steps, plan.WriteLabRecord{Name: l.Name, File: PreviousFile, Content: string(from.Encode())})
	enc := l.Encode()
	steps = append(steps,
		plan.WriteLabRecord{Name: l.Name, File: RecordFile, Content: string(enc)},
		plan.WriteLabRecord{Name: l.Name, File: DigestFile, Content: digest(enc) + "\n"})

	// Removals, in reverse build order (Diff's order).
	gone := func(node string) bool { _, ok := removedNodes[node]; return ok }
	removedLinkIfaces := map[string]bool{} // "node iface" of links that go
	for _, c := range changes {
		if c.Op == "-" && c.Kind == "link" {
			lk := old.Links[c.ref]
			removedLinkIfaces[lk.A.Node+" "+lk.A.Iface] = true
			removedLinkIfaces[lk.B.Node+" "+lk.B.Iface] = true
		}
	}
	for _, c := range changes {
		if c.Op != "-" {
			continue
		}
		f0, f1, f2 := fields3(c.Key)
		switch c.Kind {
		case "uplink":
			steps = append(steps, gateway.Destroy(c.Key).Steps[1:]...)
		case "shape":
			if !gone(f0) && !removedLinkIfaces[c.Key] {
				steps = append(steps, shape.ClearSteps(f0, f1, shape.Egress)...)
			}
		case "route":
			if !gone(f0) {
				steps = append(steps, routeDel(old.Routes[c.ref]))
			}
		case "address":
			if !gone(f0) && !removedLinkIfaces[f0+" "+f1] {
				p := netip.MustParsePrefix(f2)
				steps = append(steps, plan.Command{Argv: []string{"ip", "-n", f0, "addr", "del", p.String(), "dev", f1}})
			}
		case "link":
			lk := old.Links[c.ref]
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
	// Additions and changes, in build order. The argvs of links,
	// addresses and routes are cut from slabs (one allocation for many),
	// and the addresses of next hops are written once for a run of routes
	// through the same one (vias).
	var argvs []string
	if direct { // all of them at once
		n := 30*len(l.Links) + 11*len(l.Routes)
		for _, lk := range l.Links {
			n += 9 * (len(lk.A.Addrs) + len(lk.B.Addrs))
		}
		argvs = make([]string, n)
	}
	slab := func(n int) []string {
		if len(argvs) < n {
			argvs = make([]string, 16*256) // the argvs of about 256 steps
		}
		a := argvs[:0:n]
		argvs = argvs[n:]
		return a
	}
	var vias viaNames
	addLink := func(lk *LinkSpec) {
		// One veth link, each end born in its namespace with npte's link
		// group; both ends up.
		a, b := &lk.A, &lk.B
		steps = append(steps,
			plan.Command{Argv: append(slab(16), "ip", "link", "add", "name", a.Iface, "netns", a.Node, "group", netns.LinkGroup, "type", "veth", "peer", "name", b.Iface, "netns", b.Node, "group", netns.LinkGroup)},
			plan.Command{Argv: append(slab(7), "ip", "-n", a.Node, "link", "set", "dev", a.Iface, "up")},
			plan.Command{Argv: append(slab(7), "ip", "-n", b.Node, "link", "set", "dev", b.Iface, "up")})
	}
	addAddress := func(node, iface, prefix string) {
		// prefix is a netip.Prefix's String; only an IPv6 one has a ':'.
		argv := append(slab(9), "ip", "-n", node, "addr", "replace", prefix, "dev", iface)
		if strings.Contains(prefix, ":") {
			argv = append(argv, "nodad")
		}
		steps = append(steps, plan.Command{Argv: argv})
	}
	addRoute := func(r *RouteSpec) {
		argv := append(slab(11), "ip", "-n", r.Node)
		if r.Via.Is6() {
			argv = append(argv, "-6")
		}
		steps = append(steps, plan.Command{Argv: append(argv, "route", "replace", r.To, "via", vias.name(r.Via), "dev", r.Dev)})
	}
	addShape := func(node, iface string) {
		steps = append(steps, shape.ShapeSteps(node, iface, shape.Egress, l.specs[node+" "+iface])...)
	}
	addUplink := func(replace bool) {
		u := l.Uplink
		if replace {
			steps = append(steps, gateway.Destroy(u.Node).Steps[1:]...)
		}
		cfg := gateway.Config{NS: u.Node, Subnet: u.Subnet, Subnet6: u.Subnet6, Ext: u.Iface, Firewall: gateway.Firewall(u.Firewall)}
		steps = append(steps, gateway.Create(cfg).Steps[1:]...)
	}
	if direct {
		// Objects' order: nodes, links, addresses, routes, shapings,
		// uplink.
		for _, n := range l.Nodes {
			steps = append(steps, netns.CreateActions(n.Name, n.DNS)...)
		}
		for i := range l.Links {
			addLink(&l.Links[i])
		}
		for _, lk := range l.Links {
			for _, e := range [2]*End{&lk.A, &lk.B} {
				for _, a := range e.Addrs {
					addAddress(e.Node, e.Iface, a.String())
				}
			}
		}
		for i := range l.Routes {
			addRoute(&l.Routes[i])
		}
		for _, lk := range l.Links {
			for _, e := range [2]*End{&lk.A, &lk.B} {
				if e.Shape != "" {
					addShape(e.Node, e.Iface)
				}
			}
		}
		if l.Uplink != nil {
			addUplink(false)
		}
	}
	for _, c := range changes {
		if c.Op == "-" {
			continue
		}
		switch c.Kind {
		case "node":
			if c.Op == "+" {
				steps = append(steps, netns.CreateActions(c.Key, l.Nodes[c.ref].DNS)...)
			} else {
				steps = append(steps, dnsSteps(c.Key, l.Nodes[c.ref].DNS))
			}
		case "link":
			addLink(&l.Links[c.ref])
		case "address":
			f0, f1, f2 := fields3(c.Key)
			addAddress(f0, f1, f2)
		case "route":
			addRoute(&l.Routes[c.ref])
		case "shape":
			f0, f1, _ := fields3(c.Key)
			addShape(f0, f1)
		case "uplink":
			addUplink(c.Op == "~")
		}
	}
	steps = append(steps, plan.RemoveLabRecord{Name: l.Name, File: PreviousFile})
	sum := summary(changes)
	if direct {
		sum = itoa(added) + " added, 0 changed, 0 removed"
	}
	steps = append(steps, plan.Note{Text: "lab " + l.Name + " applied: " + sum})
	return plan.Plan{Argv: argv, Steps: steps, Undo: []string{"lab", "destroy", l.Name}}
}

// labHasIPv6 reports whether l has an IPv6 address or route (wantsIPv6
// of a new lab).
func labHasIPv6(l *Lab) bool {
	for _, lk := range l.Links {
		for _, e := range [2]*End{&lk.A, &lk.B} {
			for _, a := range e.Addrs {
				if a.Addr().Is6() {
					return true
				}
			}
		}
	}
	for _, r := range l.Routes {
		if r.Via.Is6() {
			return true
		}
	}
	return false
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

// wantsIPv6 reports whether the changes add an IPv6 address or route to
// l.
func wantsIPv6(l *Lab, cs []Change) bool {
	for _, c := range cs {
		if c.Op == "-" {
			continue
		}
		// Interface names hold no ':', so only an IPv6 address does.
		if c.Kind == "address" && strings.Contains(c.Key, ":") || c.Kind == "route" && l.Routes[c.ref].Via.Is6() {
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

// viaNames remembers the strings of the last few next hops: a node's
// routes go through one or two neighbours, in runs.
type viaNames struct {
	addrs [4]netip.Addr
	names [4]string
	next  int
}

// name is a.String(), made once while a stays among the last four.
func (v *viaNames) name(a netip.Addr) string {
	for i := range v.addrs {
		if v.addrs[i] == a && v.names[i] != "" {
			return v.names[i]
		}
	}
	s := a.String()
	v.addrs[v.next], v.names[v.next] = a, s
	v.next = (v.next + 1) % len(v.addrs)
	return s
}

func routeDel(r RouteSpec) plan.Step {
	argv := []string{"ip", "-n", r.Node}
	if r.Via.Is6() {
		argv = append(argv, "-6")
	}
	return plan.Command{Argv: append(argv, "route", "del", r.To, "via", r.Via.String()), Tolerant: true,
		Show: "remove the route to " + r.To + " on " + r.Node + " (gone already if its link went)"}
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
