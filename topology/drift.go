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
	ends := map[string][]End{}
	for _, lk := range l.Links {
		ends[lk.A.Node] = append(ends[lk.A.Node], lk.A)
		ends[lk.B.Node] = append(ends[lk.B.Node], lk.B)
	}
	for _, n := range l.Nodes {
		st := kernel[n.Name]
		if st.Missing {
			out = append(out, fmt.Sprintf("node %s: the namespace is missing", n.Name))
			continue
		}
		var links []struct {
			Ifname   string `json:"ifname"`
			AddrInfo []struct {
				Local     string `json:"local"`
				Prefixlen int    `json:"prefixlen"`
			} `json:"addr_info"`
		}
		if err := json.Unmarshal(st.Addr, &links); err != nil {
			return nil, fmt.Errorf("node %s: cannot read ip -j addr show: %w", n.Name, err)
		}
		have := map[string][]string{}
		present := map[string]bool{}
		for _, li := range links {
			present[li.Ifname] = true
			for _, a := range li.AddrInfo {
				ad, err := netip.ParseAddr(a.Local)
				if err != nil || ad.IsLinkLocalUnicast() {
					continue
				}
				have[li.Ifname] = append(have[li.Ifname], netip.PrefixFrom(ad, a.Prefixlen).String())
			}
		}
		shapings, err := shape.ReadQdiscs(n.Name, "", st.Qdisc, nil)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		egress, ingress := map[string]shape.Shaping{}, map[string]shape.Shaping{}
		for _, s := range shapings {
			if s.Direction == shape.Egress {
				egress[s.Iface] = s
			} else {
				ingress[s.Iface] = s
			}
		}
		added, err := addedRoots(st.Qdisc)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		for _, e := range ends[n.Name] {
			if !present[e.Iface] {
				out = append(out, fmt.Sprintf("node %s: interface %s is missing", n.Name, e.Iface))
				continue
			}
			var want []string
			for _, a := range e.Addrs {
				want = append(want, a.String())
			}
			got := have[e.Iface]
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				out = append(out, fmt.Sprintf("node %s: %s has addresses [%s], the record [%s]", n.Name, e.Iface, strings.Join(got, " "), strings.Join(want, " ")))
			}
			k := egress[e.Iface]
			if q := added[e.Iface]; q != "" && !k.Shaped && (k.State == "" || k.State == shape.StateNone) {
				// Not npte's tree, and not the kernel's default either.
				k.Qdisc, k.State = q, shape.StateForeign
			}
			kargs := []string{}
			if k.Shaped {
				kargs = k.Args
			} else if k.State != "" && k.State != shape.StateNone {
				kargs = []string{k.Qdisc + " (" + k.State + ")"}
			}
			if !sameShaping(k, e.ShapeArgs) {
				out = append(out, fmt.Sprintf("node %s: %s is shaped [%s], the record [%s]", n.Name, e.Iface, strings.Join(kargs, " "), strings.Join(e.ShapeArgs, " ")))
			}
			if in, ok := ingress[e.Iface]; ok {
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
