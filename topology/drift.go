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
// differs from the recorded one, knob by knob (sameShaping).
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
		egress := map[string]shape.Shaping{}
		for _, s := range shapings {
			if s.Direction == shape.Egress {
				egress[s.Iface] = s
			}
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
			kargs := []string{}
			if k.Shaped {
				kargs = k.Args
			} else if k.State != "" && k.State != shape.StateNone {
				kargs = []string{k.Qdisc + " (" + k.State + ")"}
			}
			if !sameShaping(k, e.ShapeArgs) {
				out = append(out, fmt.Sprintf("node %s: %s is shaped [%s], the record [%s]", n.Name, e.Iface, strings.Join(kargs, " "), strings.Join(e.ShapeArgs, " ")))
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
