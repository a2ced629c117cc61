package topology

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/npte/npte/shape"
)

// NodeState is what the kernel says of one node, for Drift: the output
// of `ip -n NODE -j addr show` and `tc -n NODE -j qdisc show`, or Missing
// when the namespace could not be read.
type NodeState struct {
	Missing bool
	Addr    []byte
	Qdisc   []byte
}

// endState is what the kernel holds for one recorded end of a link.
type endState struct {
	present bool
	addrs   []string      // sorted, link-local IPv6 aside
	egress  shape.Shaping // a root qdisc added by hand is StateForeign
	ingress *shape.Shaping
}

// args is the egress shaping as Drift prints it: netem apply flags for
// npte's tree, "KIND (STATE)" for another, nothing for none.
func (s endState) args() []string {
	k := s.egress
	switch {
	case k.Shaped:
		return k.Args
	case k.State != "" && k.State != shape.StateNone:
		return []string{k.Qdisc + " (" + k.State + ")"}
	}
	return []string{}
}

// readNode reads the kernel's view of each interface of node n.
func readNode(n string, st NodeState) (map[string]endState, error) {
	var links []struct {
		Ifname   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(st.Addr, &links); err != nil {
		return nil, fmt.Errorf("node %s: cannot read ip -j addr show: %w", n, err)
	}
	out := map[string]endState{}
	for _, li := range links {
		s := endState{present: true, addrs: []string{}}
		for _, a := range li.AddrInfo {
			ad, err := netip.ParseAddr(a.Local)
			if err != nil || ad.IsLinkLocalUnicast() {
				continue
			}
			s.addrs = append(s.addrs, netip.PrefixFrom(ad, a.Prefixlen).String())
		}
		slices.Sort(s.addrs)
		out[li.Ifname] = s
	}
	shapings, err := shape.ReadQdiscs(n, "", st.Qdisc, nil)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n, err)
	}
	added, err := addedRoots(st.Qdisc)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n, err)
	}
	for _, sh := range shapings {
		s, ok := out[sh.Iface]
		if !ok {
			continue
		}
		if sh.Direction == shape.Egress {
			if q := added[sh.Iface]; q != "" && !sh.Shaped && (sh.State == "" || sh.State == shape.StateNone) {
				// Not npte's tree, and not the kernel's default either.
				sh.Qdisc, sh.State = q, shape.StateForeign
			}
			s.egress = sh
		} else {
			in := sh
			s.ingress = &in
		}
		out[sh.Iface] = s
	}
	return out, nil
}

// endsByNode lists the recorded link ends of each node, in link order.
func endsByNode(l *Lab) map[string][]End {
	ends := map[string][]End{}
	for _, lk := range l.Links {
		ends[lk.A.Node] = append(ends[lk.A.Node], lk.A)
		ends[lk.B.Node] = append(ends[lk.B.Node], lk.B)
	}
	return ends
}

// recordedAddrs is e's addresses as strings, sorted.
func recordedAddrs(e End) []string {
	want := []string{}
	for _, a := range e.Addrs {
		want = append(want, a.String())
	}
	slices.Sort(want)
	return want
}

// Drift compares the record of a lab with what the kernel holds and
// returns one line per difference (sorted by node): a missing
// namespace, a missing interface, an address the record has and the
// kernel not (or the other way round; link-local IPv6 addresses aside),
// and an interface whose egress shaping read back (shape.ReadQdiscs)
// differs from the recorded one, knob by knob (sameShaping): a root
// qdisc added by hand (at a handle other than the kernel default's 0:)
// counts as foreign shaping, and any ingress shaping is drift (a lab
// has none).
func Drift(l *Lab, kernel map[string]NodeState) ([]string, error) {
	var out []string
	ends := endsByNode(l)
	for _, n := range l.Nodes {
		st := kernel[n.Name]
		if st.Missing {
			out = append(out, fmt.Sprintf("node %s: the namespace is missing", n.Name))
			continue
		}
		have, err := readNode(n.Name, st)
		if err != nil {
			return nil, err
		}
		for _, e := range ends[n.Name] {
			k := have[e.Iface]
			if !k.present {
				out = append(out, fmt.Sprintf("node %s: interface %s is missing", n.Name, e.Iface))
				continue
			}
			if want := recordedAddrs(e); !slices.Equal(want, k.addrs) {
				out = append(out, fmt.Sprintf("node %s: %s has addresses [%s], the record [%s]", n.Name, e.Iface, strings.Join(k.addrs, " "), strings.Join(want, " ")))
			}
			if !sameShaping(k.egress, e.ShapeArgs) {
				out = append(out, fmt.Sprintf("node %s: %s is shaped [%s], the record [%s]", n.Name, e.Iface, strings.Join(k.args(), " "), strings.Join(e.ShapeArgs, " ")))
			}
			if in := k.ingress; in != nil {
				// A lab shapes each direction as the egress of its
				// sending end: the record has no ingress shaping. Drift
				// gets no tc filters, so the tree is named by its qdisc
				// (npte netem show NODE IFACE reads it whole).
				iargs := in.Args
				if !in.Shaped {
					iargs = []string{in.Qdisc}
				}
				out = append(out, fmt.Sprintf("node %s: %s has ingress shaping [%s], the record none", n.Name, e.Iface, strings.Join(iargs, " ")))
			}
		}
	}
	return out, nil
}

// KernelShape prefixes the Shape of an end that Refresh took from the
// kernel: "kernel [FLAGS]", which no lab file's shape reads as.
const KernelShape = "kernel"

// Refresh returns a copy of the record l in which each drifted address
// and egress shaping of an interface that exists is what the kernel
// holds (a shaping as KernelShape [FLAGS]), so that Diff(Refresh(l),
// file) and Apply(file, Refresh(l), ...) restore the file's addresses and
// shaping where the kernel drifted, as terraform's refresh before plan
// does. What no plan step of apply can restore is left as recorded (and
// still reported by Drift): a missing namespace or interface, ingress
// shaping. The copy keeps l's Digest, the guard that the record did not
// change since the plan was made.
func Refresh(l *Lab, kernel map[string]NodeState) (*Lab, error) {
	r, err := DecodeRecord(l.Encode())
	if err != nil {
		return nil, err
	}
	r.digest = l.Digest()
	have := map[string]map[string]endState{}
	for _, n := range l.Nodes {
		if st := kernel[n.Name]; !st.Missing {
			if have[n.Name], err = readNode(n.Name, st); err != nil {
				return nil, err
			}
		}
	}
	fix := func(e *End) {
		k, ok := have[e.Node][e.Iface]
		if !ok || !k.present {
			return
		}
		if !slices.Equal(recordedAddrs(*e), k.addrs) {
			e.Addrs = nil
			for _, a := range k.addrs {
				e.Addrs = append(e.Addrs, netip.MustParsePrefix(a))
			}
		}
		if !sameShaping(k.egress, e.ShapeArgs) {
			e.Shape, e.ShapeArgs = "", nil
			if a := k.args(); len(a) > 0 {
				e.Shape, e.ShapeArgs = KernelShape+" ["+strings.Join(a, " ")+"]", a
			}
		}
	}
	for i := range r.Links {
		fix(&r.Links[i].A)
		fix(&r.Links[i].B)
	}
	return r, nil
}

// sameShaping reports whether the kernel's egress shaping k is the
// recorded one (netem apply flags, shape.Spec.Args; none when empty).
// Both sides are compared as knobs (shape.ParseArgs), not as words: the
// record spells a loss "random 1%" and a jitter's distribution out,
// where the kernel's read-back says "1%" and reports no distribution at
// all, so the recorded distribution is taken as read back (the kernel
// cannot show it).
func sameShaping(k shape.Shaping, recorded []string) bool {
	if len(recorded) == 0 {
		return !k.Shaped && (k.State == "" || k.State == shape.StateNone)
	}
	if !k.Shaped {
		return false
	}
	want, err := shape.ParseArgs(recorded)
	if err != nil {
		return false
	}
	got, err := k.Spec()
	if err != nil {
		return false
	}
	if got.Distribution != "" && want.Distribution != "" {
		got.Distribution = want.Distribution
	}
	return slices.Equal(got.Args(), want.Args())
}

// addedRoots returns, by device, "KIND HANDLE" of each root qdisc of `tc
// -j qdisc show` output that is not at handle 0: (where the kernel puts
// its default qdisc: noqueue, pfifo_fast, mq, or net.core.default_qdisc):
// one that someone added, whatever it is.
func addedRoots(qdiscs []byte) (map[string]string, error) {
	var qs []struct {
		Kind   string `json:"kind"`
		Handle string `json:"handle"`
		Dev    string `json:"dev"`
		Root   bool   `json:"root"`
	}
	if err := json.Unmarshal(qdiscs, &qs); err != nil {
		return nil, fmt.Errorf("cannot read tc -j qdisc show: %w", err)
	}
	out := map[string]string{}
	for _, q := range qs {
		if q.Root && q.Handle != "0:" {
			out[q.Dev] = q.Kind + " " + q.Handle
		}
	}
	return out, nil
}
