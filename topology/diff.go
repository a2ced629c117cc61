package topology

import (
	"fmt"
	"sort"
	"strings"
)

// Object is one thing a lab is made of, as the diff sees it: a node, a
// link, an address, a route, a shaping or the uplink. Key identifies it;
// Value is what can change in place.
type Object struct {
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Objects lists the lab's objects in build order: nodes, links,
// addresses, routes, shapings, uplink.
func (l *Lab) Objects() []Object {
	var out []Object
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		out = append(out, Object{"node", n.Name, "dns " + strings.Join(n.DNS, ",")})
	}
	for _, lk := range l.Links {
		out = append(out, Object{"link", linkKey(lk), lk.Kind})
	}
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			for _, a := range e.Addrs {
				out = append(out, Object{"address", e.Node + " " + e.Iface + " " + a.String(), ""})
			}
		}
	}
	for _, r := range l.Routes {
		out = append(out, Object{"route", routeKey(r), "via " + r.Via.String() + " dev " + r.Dev})
	}
	for _, lk := range l.Links {
		for _, e := range []End{lk.A, lk.B} {
			if e.Shape != "" {
				out = append(out, Object{"shape", e.Node + " " + e.Iface, e.Shape})
			}
		}
	}
	if u := l.Uplink; u != nil {
		v := "iface " + u.Iface + " subnet " + u.Subnet.String()
		if u.Subnet6.IsValid() {
			v += " subnet6 " + u.Subnet6.String()
		}
		out = append(out, Object{"uplink", u.Node, v + " firewall " + u.Firewall})
	}
	return out
}

func linkKey(lk LinkSpec) string {
	return lk.A.Node + ":" + lk.A.Iface + " -- " + lk.B.Node + ":" + lk.B.Iface
}

func routeKey(r RouteSpec) string {
	fam := ""
	if r.Via.Is6() {
		fam = " -6"
	}
	return r.Node + fam + " " + r.To
}

// Change is one difference between two labs: Op is '+' (added), '-'
// (removed) or '~' (changed in place).
type Change struct {
	Op   string `json:"op"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// String is the change in words, as `npte lab plan` prints it.
func (c Change) String() string {
	switch c.Op {
	case "~":
		return fmt.Sprintf("~ %s %s: %s -> %s", c.Kind, c.Key, c.Old, c.New)
	case "+":
		if c.New != "" {
			return fmt.Sprintf("+ %s %s (%s)", c.Kind, c.Key, c.New)
		}
	case "-":
		if c.Old != "" {
			return fmt.Sprintf("- %s %s (%s)", c.Kind, c.Key, c.Old)
		}
	}
	return c.Op + " " + c.Kind + " " + c.Key
}

var kindOrder = map[string]int{"node": 0, "link": 1, "address": 2, "route": 3, "shape": 4, "uplink": 5}

// Diff compares old (nil: nothing) with new (nil: nothing) object by
// object: removals first (in reverse build order), then changes and
// additions in build order.
func Diff(old, new *Lab) []Change {
	type ent struct {
		o   Object
		pos int
	}
	index := func(os []Object) map[[2]string]ent {
		m := make(map[[2]string]ent, len(os))
		for i, o := range os {
			m[[2]string{o.Kind, o.Key}] = ent{o, i}
		}
		return m
	}
	oldObjs, newObjs := old.Objects(), new.Objects()
	om, nm := index(oldObjs), index(newObjs)
	var removed, rest []Change
	for _, o := range oldObjs {
		if _, ok := nm[[2]string{o.Kind, o.Key}]; !ok {
			removed = append(removed, Change{Op: "-", Kind: o.Kind, Key: o.Key, Old: o.Value})
		}
	}
	for _, o := range newObjs {
		e, ok := om[[2]string{o.Kind, o.Key}]
		switch {
		case !ok:
			rest = append(rest, Change{Op: "+", Kind: o.Kind, Key: o.Key, New: o.Value})
		case e.o.Value != o.Value:
			rest = append(rest, Change{Op: "~", Kind: o.Kind, Key: o.Key, Old: e.o.Value, New: o.Value})
		}
	}
	sort.SliceStable(removed, func(i, j int) bool { return kindOrder[removed[i].Kind] > kindOrder[removed[j].Kind] })
	sort.SliceStable(rest, func(i, j int) bool { return kindOrder[rest[i].Kind] < kindOrder[rest[j].Kind] })
	return append(removed, rest...)
}

// FormatDiff writes the changes in words, one per line, with a summary
// line, as `npte lab plan` prints them.
func FormatDiff(name string, cs []Change) string {
	var b strings.Builder
	if len(cs) == 0 {
		// The diff compares the file with the record, not with the
		// kernel: drift (lab show) is not a change here.
		fmt.Fprintf(&b, "lab %s: no changes; the record already matches the file (apply would run only its guards; npte lab show %s compares the kernel with the record)\n", name, name)
		return b.String()
	}
	var add, chg, del int
	for _, c := range cs {
		b.WriteString(c.String() + "\n")
		switch c.Op {
		case "+":
			add++
		case "~":
			chg++
		case "-":
			del++
		}
	}
	fmt.Fprintf(&b, "lab %s: %d to add, %d to change, %d to remove\n", name, add, chg, del)
	return b.String()
}
