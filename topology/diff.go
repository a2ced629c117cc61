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
	// ref is the object's index in its lab's Nodes, Links or Routes (by
	// Kind), or -1: Apply finds the object without parsing Key.
	ref int
}

// Objects lists the lab's objects in build order: nodes, links,
// addresses, routes, shapings, uplink.
func (l *Lab) Objects() []Object { return l.objects(true) }

// objects is Objects; without values, Value is left empty for nodes
// and routes, and Key for links and routes (Apply of a new lab compares
// nothing: it finds each link and route by its ref).
func (l *Lab) objects(values bool) []Object {
	if l == nil {
		return nil
	}
	out := make([]Object, 0, l.objectCap())
	l.eachObject(values, func(o Object) { out = append(out, o) })
	return out
}

// objectCap is at least the number of the lab's objects.
func (l *Lab) objectCap() int {
	n := len(l.Nodes) + len(l.Links) + len(l.Routes) + 1
	for _, lk := range l.Links {
		n += len(lk.A.Addrs) + len(lk.B.Addrs) + 2
	}
	return n
}

// eachObject calls add with each of the lab's objects, in the order of
// Objects (see objects for values).
func (l *Lab) eachObject(values bool, add func(Object)) {
	for i, n := range l.Nodes {
		v := ""
		if values {
			v = "dns " + strings.Join(n.DNS, ",")
		}
		add(Object{"node", n.Name, v, i})
	}
	for i, lk := range l.Links {
		k := ""
		if values {
			k = linkKey(lk)
		}
		add(Object{"link", k, lk.Kind, i})
	}
	var buf []byte
	for _, lk := range l.Links {
		for _, e := range [2]*End{&lk.A, &lk.B} {
			for _, a := range e.Addrs {
				// NODE IFACE PREFIX, in one allocation.
				buf = append(append(append(append(buf[:0], e.Node...), ' '), e.Iface...), ' ')
				add(Object{"address", string(a.AppendTo(buf)), "", -1})
			}
		}
	}
	for i, r := range l.Routes {
		k, v := "", ""
		if values {
			k, v = routeKey(r), "via "+r.Via.String()+" dev "+r.Dev
		}
		add(Object{"route", k, v, i})
	}
	for _, lk := range l.Links {
		for _, e := range [2]*End{&lk.A, &lk.B} {
			if e.Shape != "" {
				add(Object{"shape", e.Node + " " + e.Iface, e.Shape, -1})
			}
		}
	}
	if u := l.Uplink; u != nil {
		v := "iface " + u.Iface + " subnet " + u.Subnet.String()
		if u.Subnet6.IsValid() {
			v += " subnet6 " + u.Subnet6.String()
		}
		add(Object{"uplink", u.Node, v + " firewall " + u.Firewall, -1})
	}
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
	// ref is the object's Object.ref: in the new lab for '+' and '~', in
	// the old one for '-'.
	ref int
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
func Diff(old, new *Lab) []Change { return diff(old, new, true) }

// diff is Diff; without values, the changes of a new lab (old nil) carry
// no New value for nodes and routes (see objects).
func diff(old, new *Lab, values bool) []Change {
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
	oldObjs := old.objects(values || old != nil)
	if len(oldObjs) == 0 {
		// Everything is added, in build order (Objects' order).
		if new == nil {
			return []Change{}
		}
		out := make([]Change, 0, new.objectCap())
		new.eachObject(values || old != nil, func(o Object) {
			out = append(out, Change{Op: "+", Kind: o.Kind, Key: o.Key, New: o.Value, ref: o.ref})
		})
		return out
	}
	newObjs := new.objects(values || old != nil)
	om, nm := index(oldObjs), index(newObjs)
	var removed, rest []Change
	for _, o := range oldObjs {
		if _, ok := nm[[2]string{o.Kind, o.Key}]; !ok {
			removed = append(removed, Change{Op: "-", Kind: o.Kind, Key: o.Key, Old: o.Value, ref: o.ref})
		}
	}
	for _, o := range newObjs {
		e, ok := om[[2]string{o.Kind, o.Key}]
		switch {
		case !ok:
			rest = append(rest, Change{Op: "+", Kind: o.Kind, Key: o.Key, New: o.Value, ref: o.ref})
		case e.o.Value != o.Value:
			rest = append(rest, Change{Op: "~", Kind: o.Kind, Key: o.Key, Old: e.o.Value, New: o.Value, ref: o.ref})
		}
	}
	sort.SliceStable(removed, func(i, j int) bool { return kindOrder[removed[i].Kind] > kindOrder[removed[j].Kind] })
	sort.SliceStable(rest, func(i, j int) bool { return kindOrder[rest[i].Kind] < kindOrder[rest[j].Kind] })
	return append(removed, rest...)
}

// fields3 splits "A B C" (a Key of an address, or "A B" of a shape) at
// its spaces, without allocating: the parts hold no spaces.
func fields3(key string) (a, b, c string) {
	a, rest, _ := strings.Cut(key, " ")
	b, c, _ = strings.Cut(rest, " ")
	return a, b, c
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
