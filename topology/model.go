package topology

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/npte/npte/gateway"
	"github.com/npte/npte/netns"
	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// Default pools.
var (
	// DefaultIPv4Pool is the IPv4 pool when the file names none.
	DefaultIPv4Pool = netip.MustParsePrefix("172.16.0.0/16")
)

// KindVeth is the only link kind today.
const KindVeth = "veth"

// Lab is a resolved lab: every name checked, every address allocated,
// every route computed. It is what the plan, the graph, the diff and the
// record are made from. Its JSON form is the record of an applied lab.
type Lab struct {
	Name     string       `json:"name"`
	IPv4Pool netip.Prefix `json:"ipv4_pool"`
	IPv6Pool netip.Prefix `json:"ipv6_pool,omitzero"`
	// Nodes are sorted by name.
	Nodes []NodeSpec `json:"nodes"`
	// Links are in file order.
	Links []LinkSpec `json:"links"`
	// Routes are sorted by node, then family, then destination.
	Routes []RouteSpec `json:"routes"`
	Uplink *UplinkSpec `json:"uplink,omitempty"`
	// specs are the validated shapings by "NODE IFACE" (not recorded).
	specs map[string]shape.Spec
	// digest, set by Refresh, is the Digest of the record the lab was
	// refreshed from (not recorded).
	digest string
}

// NodeSpec is a resolved node.
type NodeSpec struct {
	Name string   `json:"name"`
	DNS  []string `json:"dns"`
}

// End is one end of a link.
type End struct {
	Node  string         `json:"node"`
	Iface string         `json:"iface"`
	Addrs []netip.Prefix `json:"addrs"`
	// Shape is the egress shaping of this end (toward the other), as
	// written, or "".
	Shape string `json:"shape,omitempty"`
	// ShapeArgs is that shaping as netem apply flags (shape.Spec.Args):
	// what `lab show` compares with the kernel's read-back.
	ShapeArgs []string `json:"shape_args,omitempty"`
}

// LinkSpec is a resolved link.
type LinkSpec struct {
	Kind    string         `json:"kind"`
	A       End            `json:"a"`
	B       End            `json:"b"`
	Subnets []netip.Prefix `json:"subnets"`
}

// RouteSpec is one route on one node.
type RouteSpec struct {
	Node string `json:"node"`
	// To is a prefix or "default".
	To  string     `json:"to"`
	Via netip.Addr `json:"via"`
	Dev string     `json:"dev"`
	// Static marks a route written in the file.
	Static bool `json:"static,omitempty"`
}

// UplinkSpec is a resolved uplink.
type UplinkSpec struct {
	Node     string       `json:"node"`
	Iface    string       `json:"iface"`
	Subnet   netip.Prefix `json:"subnet"`
	Subnet6  netip.Prefix `json:"subnet6,omitzero"`
	Firewall string       `json:"firewall"`
}

// Load reads, parses and resolves the lab file at path.
func Load(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadBytes(path, data)
}

// LoadBytes parses and resolves a lab file; name is used in messages.
func LoadBytes(name string, data []byte) (*Lab, error) {
	f, src, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return resolve(f, src)
}

// Resolve checks f and computes its Lab. Errors carry no position; use
// LoadBytes for errors at positions.
func Resolve(f *File) (*Lab, error) { return resolve(f, nil) }

type resolver struct {
	src  *source
	errs Errors
	// pathBudget, for tests, replaces the route computation's budget
	// for pathRuns (0: the default; -1: never use pathRuns).
	pathBudget int
	// routeTo[i] is the destination of l.Routes[i] (invalid: default),
	// names the strings of prefixes (see addRoute, prefixName).
	routeTo []netip.Prefix
	names   map[netip.Prefix]string
	scratch [64]byte
}

func (r *resolver) fail(msg string, path ...any) {
	r.errs = append(r.errs, r.src.at(msg, path...))
}

func resolve(f *File, src *source) (*Lab, error) { return resolveBudget(f, src, 0) }

// resolveBudget is resolve with the resolver's pathBudget (tests).
func resolveBudget(f *File, src *source, pathBudget int) (*Lab, error) {
	r := &resolver{src: src, pathBudget: pathBudget}
	l := &Lab{Name: f.Name, IPv4Pool: DefaultIPv4Pool}
	if err := validate.NetnsName(f.Name); err != nil {
		r.fail("lab "+err.Error(), "name")
	}
	if f.Addressing != nil {
		if f.Addressing.IPv4 != "" {
			l.IPv4Pool = r.pool(f.Addressing.IPv4, false, 24, "addressing", "ipv4")
		}
		if f.Addressing.IPv6 != "" {
			l.IPv6Pool = r.pool(f.Addressing.IPv6, true, 64, "addressing", "ipv6")
		}
	}
	if len(f.Nodes) == 0 {
		r.fail("a lab needs at least one node under nodes:", "nodes")
	}
	nodes := make(map[string]bool, len(f.Nodes))
	l.Nodes = make([]NodeSpec, 0, len(f.Nodes))
	for _, name := range sortedKeys(f.Nodes) {
		n := f.Nodes[name]
		if n == nil {
			n = &Node{}
		}
		if err := validate.NetnsName(name); err != nil {
			r.fail("node "+err.Error(), "nodes", name)
			continue
		}
		if n.Host != "" && n.Host != "local" {
			r.fail(fmt.Sprintf("node %s: host %q: multi-host labs are not supported yet (only local)", name, n.Host), "nodes", name, "host")
		}
		dns := netns.DefaultDNS
		if n.DNS != nil {
			dns = nil
			for i, d := range n.DNS {
				if _, err := validate.IPAddr(d); err != nil {
					r.fail("node "+name+": dns: "+err.Error(), "nodes", name, "dns", i)
				}
				dns = append(dns, d)
			}
		}
		nodes[name] = true
		l.Nodes = append(l.Nodes, NodeSpec{Name: name, DNS: dns})
	}
	r.links(f, l, nodes)
	if f.Uplink != nil {
		r.uplink(f.Uplink, l, nodes)
	}
	if len(r.errs) == 0 {
		r.overlaps(l)
	}
	if len(r.errs) == 0 {
		r.allocate(l)
	}
	switch f.Routes {
	case "", "auto", "none":
	default:
		r.fail(fmt.Sprintf("routes %q: must be auto or none", f.Routes), "routes")
	}
	if len(r.errs) == 0 {
		r.routes(f, l)
	}
	if len(r.errs) > 0 {
		sort.SliceStable(r.errs, func(i, j int) bool {
			a, b := r.errs[i], r.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
		})
		return nil, r.errs
	}
	return l, nil
}

func (r *resolver) pool(s string, v6 bool, bits int, path ...any) netip.Prefix {
	p, err := validate.Subnet(s)
	switch {
	case err != nil:
		r.fail(err.Error(), path...)
	case p.Addr().Is6() != v6:
		r.fail(fmt.Sprintf("pool %s: wrong address family for %v", s, path[len(path)-1]), path...)
	case p.Bits() > bits:
		r.fail(fmt.Sprintf("pool %s: must be /%d or wider (one /%d per link)", s, bits, bits), path...)
	default:
		return p
	}
	return netip.Prefix{}
}

func (r *resolver) links(f *File, l *Lab, nodes map[string]bool) {
	if len(f.Links) > 0 { // else nil, as the record has it ("links":null)
		l.Links = make([]LinkSpec, 0, len(f.Links))
	}
	ifaces := make(map[[2]string]bool, 2*len(f.Links)) // node, iface
	useIface := func(node, iface string, path ...any) {
		if ifaces[[2]string{node, iface}] {
			r.fail(fmt.Sprintf("node %s has two interfaces named %s (two links between the same nodes need ifaces: names)", node, iface), path...)
		}
		ifaces[[2]string{node, iface}] = true
	}
	for i, lk := range f.Links {
		if len(lk.Endpoints) != 2 {
			r.fail(fmt.Sprintf("link %d: needs exactly two endpoints, has %d", i+1, len(lk.Endpoints)), "links", i)
			continue
		}
		a, b := lk.Endpoints[0], lk.Endpoints[1]
		ok := true
		for j, n := range lk.Endpoints {
			if !nodes[n] {
				if lk.short {
					r.fail(fmt.Sprintf("link %d: unknown node %q (not under nodes:)", i+1, n), "links", i, j)
				} else {
					r.fail(fmt.Sprintf("link %d: unknown node %q (not under nodes:)", i+1, n), "links", i, "endpoints", j)
				}
				ok = false
			}
		}
		if !ok {
			continue
		}
		if a == b {
			r.fail(fmt.Sprintf("link %d: links %s to itself", i+1, a), "links", i)
			continue
		}
		kind := lk.Kind
		if kind == "" {
			kind = KindVeth
		}
		if kind != KindVeth {
			r.fail(fmt.Sprintf("link %d: kind %q: only veth links exist today", i+1, lk.Kind), "links", i, "kind")
		}
		ls := LinkSpec{Kind: kind, A: End{Node: a, Iface: netns.LinkName(b)}, B: End{Node: b, Iface: netns.LinkName(a)}}
		for _, n := range sortedKeys(lk.Ifaces) {
			v := lk.Ifaces[n]
			if err := validate.IfaceName(v); err != nil {
				r.fail(fmt.Sprintf("link %d: ifaces: %v", i+1, err), "links", i, "ifaces", n)
				continue
			}
			switch n {
			case a:
				ls.A.Iface = v
			case b:
				ls.B.Iface = v
			default:
				r.fail(fmt.Sprintf("link %d: ifaces: %s is not an endpoint of the link", i+1, n), "links", i, "ifaces", n)
			}
		}
		useIface(a, ls.A.Iface, "links", i)
		useIface(b, ls.B.Iface, "links", i)
		for _, n := range sortedKeys(lk.Addresses) {
			var end *End
			switch n {
			case a:
				end = &ls.A
			case b:
				end = &ls.B
			default:
				r.fail(fmt.Sprintf("link %d: addresses: %s is not an endpoint of the link", i+1, n), "links", i, "addresses", n)
				continue
			}
			for _, s := range lk.Addresses[n] {
				p, err := validate.CIDR(s)
				if err != nil {
					r.fail(fmt.Sprintf("link %d: %v", i+1, err), "links", i, "addresses", n)
					continue
				}
				end.Addrs = append(end.Addrs, p)
			}
		}
		for _, fam := range []bool{false, true} {
			pa, pb := famAddr(ls.A.Addrs, fam), famAddr(ls.B.Addrs, fam)
			switch {
			case !pa.IsValid() && !pb.IsValid():
			case !pa.IsValid() || !pb.IsValid():
				r.fail(fmt.Sprintf("link %d: addresses: give both ends an address of the same family, or neither", i+1), "links", i, "addresses")
			case pa.Masked() != pb.Masked():
				r.fail(fmt.Sprintf("link %d: addresses %s and %s are not in one subnet", i+1, pa, pb), "links", i, "addresses")
			case pa.Addr() == pb.Addr():
				r.fail(fmt.Sprintf("link %d: both ends have the address %s", i+1, pa.Addr()), "links", i, "addresses")
			default:
				ls.Subnets = append(ls.Subnets, pa.Masked())
			}
		}
		for _, dir := range sortedKeys(lk.Shape) {
			from, to, okc := strings.Cut(dir, "->")
			var end *End
			switch {
			case okc && from == a && to == b:
				end = &ls.A
			case okc && from == b && to == a:
				end = &ls.B
			default:
				r.fail(fmt.Sprintf("link %d: shape: direction %q must be %s->%s or %s->%s", i+1, dir, a, b, b, a), "links", i, "shape", dir)
				continue
			}
			sh := lk.Shape[dir]
			if sh == nil {
				r.fail(fmt.Sprintf("link %d: shape %s: no knobs given", i+1, dir), "links", i, "shape", dir)
				continue
			}
			spec, err := sh.Validated()
			if err != nil {
				r.fail(fmt.Sprintf("link %d: shape %s: %v", i+1, dir, err), "links", i, "shape", dir)
				continue
			}
			end.Shape = sh.String()
			end.ShapeArgs = spec.Args()
			if l.specs == nil {
				l.specs = map[string]shape.Spec{}
			}
			l.specs[end.Node+" "+end.Iface] = spec
		}
		l.Links = append(l.Links, ls)
	}
	// Two links between the same pair with default names collide; reported above.
}

func famAddr(ps []netip.Prefix, v6 bool) netip.Prefix {
	for _, p := range ps {
		if p.Addr().Is6() == v6 {
			return p
		}
	}
	return netip.Prefix{}
}

func (r *resolver) uplink(u *Uplink, l *Lab, nodes map[string]bool) {
	if !nodes[u.Node] {
		r.fail(fmt.Sprintf("uplink: unknown node %q", u.Node), "uplink", "node")
		return
	}
	if err := validate.IfaceName(u.Iface); err != nil {
		r.fail("uplink: "+err.Error(), "uplink", "iface")
		return
	}
	s, err := validate.Subnet(u.Subnet)
	if err != nil {
		r.fail("uplink: "+err.Error(), "uplink", "subnet")
		return
	}
	cfg := gateway.Config{NS: u.Node, Subnet: s, Ext: u.Iface, Firewall: gateway.Firewall(u.Firewall)}
	if cfg.Firewall == "" {
		cfg.Firewall = gateway.NFT
	}
	if u.Subnet6 != "" {
		s6, err := validate.Subnet(u.Subnet6)
		if err != nil {
			r.fail("uplink: "+err.Error(), "uplink", "subnet6")
			return
		}
		cfg.Subnet6 = s6
	}
	if err := gateway.CheckName(u.Node); err != nil {
		r.fail("uplink: "+err.Error(), "uplink", "node")
		return
	}
	if err := cfg.Check(); err != nil {
		r.fail("uplink: "+err.Error(), "uplink")
		return
	}
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			if e.Node == u.Node && e.Iface == gateway.NSLink {
				r.fail(fmt.Sprintf("uplink: node %s already has an interface %s, which the uplink needs", u.Node, gateway.NSLink), "uplink", "node")
			}
		}
	}
	l.Uplink = &UplinkSpec{Node: u.Node, Iface: u.Iface, Subnet: s, Subnet6: cfg.Subnet6, Firewall: string(cfg.Firewall)}
}

// taken lists the explicit subnets (links with addresses, the uplink) with
// where they were written, for the overlap check and the allocator.
func (l *Lab) taken() []netip.Prefix {
	var out []netip.Prefix
	for _, lk := range l.Links {
		out = append(out, lk.Subnets...)
	}
	if l.Uplink != nil {
		out = append(out, l.Uplink.Subnet)
		if l.Uplink.Subnet6.IsValid() {
			out = append(out, l.Uplink.Subnet6)
		}
	}
	return out
}

func (r *resolver) overlaps(l *Lab) {
	type item struct {
		p    netip.Prefix
		what string
		path []any
	}
	var items []item
	for i, lk := range l.Links {
		for _, p := range lk.Subnets {
			items = append(items, item{p, fmt.Sprintf("link %d (%s-%s)", i+1, lk.A.Node, lk.B.Node), []any{"links", i, "addresses"}})
		}
	}
	if u := l.Uplink; u != nil {
		items = append(items, item{u.Subnet, "the uplink", []any{"uplink", "subnet"}})
		if u.Subnet6.IsValid() {
			items = append(items, item{u.Subnet6, "the uplink", []any{"uplink", "subnet6"}})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return prefixLess(items[i].p, items[j].p) })
	// After sorting, a prefix overlaps an earlier one iff the widest
	// earlier prefix still open contains its address.
	var open *item
	for i := range items {
		it := &items[i]
		if open != nil && open.p.Addr().Is6() == it.p.Addr().Is6() && open.p.Contains(it.p.Addr()) {
			r.fail(fmt.Sprintf("subnet %s of %s overlaps %s of %s", it.p, it.what, open.p, open.what), it.path...)
			continue
		}
		if open == nil || !open.p.Contains(it.p.Addr()) {
			open = it
		}
	}
}

// prefixCmp orders prefixes as prefixLess does, for slices.SortFunc.
func prefixCmp(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func prefixLess(a, b netip.Prefix) bool {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c < 0
	}
	return a.Bits() < b.Bits()
}

// allocate gives every link without explicit addresses of a family one
// subnet of that family's pool, in link order, skipping the explicit
// subnets: the first end gets the first host address, the second end the
// second.
func (r *resolver) allocate(l *Lab) {
	taken := l.taken()
	for _, fam := range []struct {
		pool netip.Prefix
		bits int
	}{{l.IPv4Pool, 24}, {l.IPv6Pool, 64}} {
		if !fam.pool.IsValid() {
			continue
		}
		next := netip.PrefixFrom(fam.pool.Addr(), fam.bits)
		v6 := fam.pool.Addr().Is6()
		for i := range l.Links {
			lk := &l.Links[i]
			if famAddr(lk.A.Addrs, v6).IsValid() {
				continue
			}
			for next.IsValid() && fam.pool.Contains(next.Addr()) {
				q, ok := overlapping(next, taken)
				if !ok {
					break
				}
				// Skip past the whole of q at once (q may be far wider).
				if q.Bits() < next.Bits() {
					after := nextPrefix(q.Masked())
					if !after.IsValid() {
						next = netip.Prefix{}
						break
					}
					next = netip.PrefixFrom(after.Addr(), fam.bits)
				} else {
					next = nextPrefix(next)
				}
			}
			if !next.IsValid() || !fam.pool.Contains(next.Addr()) {
				r.fail(fmt.Sprintf("the pool %s has no /%d left for link %d (%s-%s): give a wider pool under addressing:", fam.pool, fam.bits, i+1, lk.A.Node, lk.B.Node), "addressing")
				return
			}
			a1 := next.Addr().Next()
			a2 := a1.Next()
			lk.A.Addrs = append(lk.A.Addrs, netip.PrefixFrom(a1, fam.bits))
			lk.B.Addrs = append(lk.B.Addrs, netip.PrefixFrom(a2, fam.bits))
			lk.Subnets = append(lk.Subnets, next)
			next = nextPrefix(next)
		}
	}
	for i := range l.Links {
		lk := &l.Links[i]
		sortPrefixes(lk.Subnets)
		sortPrefixes(lk.A.Addrs)
		sortPrefixes(lk.B.Addrs)
	}
}

func sortPrefixes(ps []netip.Prefix) {
	if len(ps) > 1 {
		slices.SortFunc(ps, prefixCmp)
	}
}

func overlapping(p netip.Prefix, ps []netip.Prefix) (netip.Prefix, bool) {
	for _, q := range ps {
		if p.Overlaps(q) {
			return q, true
		}
	}
	return netip.Prefix{}, false
}

// nextPrefix is the prefix of the same length right after p, or an
// invalid prefix at the end of the address space.
func nextPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	// add 1 at bit position bits-1 (0 = most significant)
	byteI, bitI := (bits-1)/8, 7-(bits-1)%8
	carry := byte(1 << bitI)
	for i := byteI; i >= 0; i-- {
		s := uint16(a[i]) + uint16(carry)
		a[i] = byte(s)
		if s < 256 {
			carry = 0
			break
		}
		carry = 1
	}
	if carry != 0 {
		return netip.Prefix{}
	}
	addr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		if !addr.Is4In6() {
			return netip.Prefix{}
		}
		addr = addr.Unmap()
	}
	return netip.PrefixFrom(addr, p.Bits())
}
