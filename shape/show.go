package shape

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Shaping states: whether a direction of an interface carries exactly a
// tree npte builds.
const (
	StateNpte       = "npte"       // every part is what netem apply builds
	StateNone       = "none"       // no shaping: a kernel default qdisc
	StateForeign    = "foreign"    // a tree npte does not build
	StateIncomplete = "incomplete" // part of npte's tree (an interrupted apply or clear)
)

// Shaping is what one direction of one interface carries, in npte's knob
// terms: Args are `netem apply` flags that rebuild it. Every key is always
// present in JSON (Args is [] when there is nothing to rebuild).
type Shaping struct {
	Netns     string    `json:"netns"`
	Iface     string    `json:"iface"`
	Direction Direction `json:"direction"`
	// Qdisc is the tree: "netem", "tbf", "cake", "netem+cake",
	// "netem+tbf", or the kind of a qdisc npte did not put there.
	Qdisc string `json:"qdisc"`
	// State is StateNpte, StateNone, StateForeign or StateIncomplete.
	State string `json:"state"`
	// Shaped is true only when State is StateNpte: every part of the
	// tree (root and child qdisc with their parameters, and for ingress
	// the ingress qdisc, the ifb device and the u32/mirred filter) is
	// what netem apply builds.
	Shaped bool     `json:"shaped"`
	Args   []string `json:"args"`
	// Note explains what could not be read back (the delay distribution,
	// which the kernel does not report) or why a tree is not npte's, and
	// for an incomplete one the command that removes it.
	Note string `json:"note"`
}

// qdisc is one element of `tc -j qdisc show`.
type qdisc struct {
	Kind    string          `json:"kind"`
	Handle  string          `json:"handle"`
	Dev     string          `json:"dev"`
	Root    bool            `json:"root"`
	Parent  string          `json:"parent"`
	Options json.RawMessage `json:"options"`
}

// IngressDevs returns the devices of `tc -j qdisc show` output that carry
// an ingress qdisc (handle ffff:), sorted: netem show reads their filters
// (`tc -j filter show dev DEV parent ffff:`) for ReadQdiscs.
func IngressDevs(qdiscs []byte) ([]string, error) {
	var qs []qdisc
	if err := json.Unmarshal(qdiscs, &qs); err != nil {
		return nil, fmt.Errorf("cannot read tc -j qdisc show: %w", err)
	}
	var out []string
	for _, q := range qs {
		if q.Kind == "ingress" && q.Handle == "ffff:" {
			out = append(out, q.Dev)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadQdiscs parses the output of `tc -j qdisc show` (all devices of one
// namespace) and, for each device of IngressDevs, of `tc -j filter show
// dev DEV parent ffff:` (filters, by device) into one Shaping per
// interface and direction, sorted by interface: every device's egress,
// and the ingress of each device that has an ingress qdisc or an ifb
// device named after it (IfbName). ifb devices are reported only through
// the interface they serve, and an unshaped loopback is left out. When
// iface is not empty, only that interface is reported.
//
// A tree is npte's (Shaped) only when every part is what netem apply
// builds; otherwise it is "foreign", or "incomplete" with the netem clear
// command that removes it.
func ReadQdiscs(ns, iface string, data []byte, filters map[string][]byte) ([]Shaping, error) {
	var qs []qdisc
	if err := json.Unmarshal(data, &qs); err != nil {
		return nil, fmt.Errorf("cannot read tc -j qdisc show: %w", err)
	}
	byDev := map[string][]qdisc{}
	var devs []string
	for _, q := range qs {
		if _, ok := byDev[q.Dev]; !ok {
			devs = append(devs, q.Dev)
		}
		byDev[q.Dev] = append(byDev[q.Dev], q)
	}
	sort.Strings(devs)
	ifbs := map[string]bool{}
	for _, d := range devs {
		if _, ok := byDev[IfbName(d)]; ok && IfbName(d) != d {
			ifbs[IfbName(d)] = true
		}
	}
	clear := func(d string) string { return "run npte netem clear " + ns + " " + d }
	out := []Shaping{}
	for _, d := range devs {
		if ifbs[d] || iface != "" && d != iface {
			continue
		}
		sh, err := readTree(byDev[d], false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		sh.Netns, sh.Iface, sh.Direction = ns, d, Egress
		ing, hasIfb := hasIngress(byDev[d]), ifbs[IfbName(d)]
		if d == "lo" && iface == "" && sh.State == StateNone && !ing && !hasIfb {
			continue // an unshaped loopback is noise
		}
		out = append(out, sh)
		if !ing && !hasIfb {
			continue
		}
		in := Shaping{Netns: ns, Iface: d, Direction: Ingress, Qdisc: "ingress", Args: []string{}}
		switch {
		case !ing:
			in.Qdisc, in.State, in.Note = "none", StateIncomplete, "incomplete: "+IfbName(d)+" exists but nothing redirects "+d+" to it: "+clear(d)
		case !hasIfb:
			in.State, in.Note = StateForeign, "an ingress qdisc that npte did not make (no "+IfbName(d)+" device)"
		default:
			ok, why, err := npteFilter(filters[d], IfbName(d))
			if err != nil {
				return nil, fmt.Errorf("%s: filters: %w", d, err)
			}
			if in, err = readTree(byDev[IfbName(d)], true); err != nil {
				return nil, fmt.Errorf("%s: %w", IfbName(d), err)
			}
			in.Netns, in.Iface, in.Direction = ns, d, Ingress
			switch {
			case why == "none":
				in.State, in.Note = StateIncomplete, "incomplete: no filter redirects "+d+" to "+IfbName(d)+": "+clear(d)
			case !ok:
				in.State, in.Note = StateForeign, "not npte's: "+why
			case in.State == StateNone:
				in.State, in.Note = StateIncomplete, "incomplete: "+IfbName(d)+" carries no shaping: "+clear(d)
			}
			if in.State != StateNpte {
				in.Shaped, in.Args = false, []string{}
			}
		}
		out = append(out, in)
	}
	return out, nil
}

func hasIngress(qs []qdisc) bool {
	for _, q := range qs {
		if q.Kind == "ingress" && q.Handle == "ffff:" {
			return true
		}
	}
	return false
}

// filter is one element of `tc -j filter show dev DEV parent ffff:`.
type filter struct {
	Protocol string `json:"protocol"`
	Pref     int    `json:"pref"`
	Kind     string `json:"kind"`
	Chain    int    `json:"chain"`
	Options  *struct {
		Match *struct {
			Value string `json:"value"`
			Mask  string `json:"mask"`
			Off   int    `json:"off"`
		} `json:"match"`
		Actions []struct {
			Kind      string `json:"kind"`
			Action    string `json:"mirred_action"`
			Direction string `json:"direction"`
			ToDev     string `json:"to_dev"`
		} `json:"actions"`
	} `json:"options"`
}

// npteFilter reports whether the ingress filters of a device are exactly
// the one npte adds: protocol all, prio 1, u32 match u32 0 0, one action
// mirred egress redirect to ifb. why is "none" when there is no filter.
func npteFilter(data []byte, ifb string) (ok bool, why string, err error) {
	var fs []filter
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &fs); err != nil {
			return false, "", err
		}
	}
	matches := 0
	for _, f := range fs {
		if f.Kind != "u32" || f.Pref != 1 || f.Protocol != "all" || f.Chain != 0 {
			return false, fmt.Sprintf("a %s filter (protocol %s, prio %d, chain %d) npte does not add", f.Kind, f.Protocol, f.Pref, f.Chain), nil
		}
		if f.Options == nil || f.Options.Match == nil {
			continue // the u32 hash table entries
		}
		matches++
		m, a := f.Options.Match, f.Options.Actions
		if m.Value != "0" || m.Mask != "0" || m.Off != 0 {
			return false, "a u32 filter that does not match every packet", nil
		}
		if len(a) != 1 || a[0].Kind != "mirred" || a[0].Action != "redirect" || a[0].Direction != "egress" || a[0].ToDev != ifb {
			return false, "a filter whose action is not one mirred egress redirect to " + ifb, nil
		}
	}
	switch matches {
	case 0:
		return false, "none", nil
	case 1:
		return true, "", nil
	}
	return false, fmt.Sprintf("%d match-all filters where npte adds one", matches), nil
}

// readTree reads the root (handle 1:) and child (parent 1:, handle 2:)
// of one device and checks that they are all the device carries (apart
// from an ingress qdisc, unless ifb) and what netem apply builds.
func readTree(qs []qdisc, ifb bool) (Shaping, error) {
	var root, child *qdisc
	var others []string
	for i := range qs {
		switch q := &qs[i]; {
		case q.Root:
			root = q
		case q.Kind == "ingress" && q.Handle == "ffff:" && !ifb:
		case q.Parent == "1:" && q.Handle == "2:" && child == nil:
			child = q
		default:
			others = append(others, q.Kind+" "+q.Handle)
		}
	}
	sh := Shaping{Args: []string{}}
	if root == nil {
		sh.Qdisc, sh.State, sh.Note = "none", StateNone, "no root qdisc"
		return sh, nil
	}
	sh.Qdisc = root.Kind
	if root.Handle != "1:" || (root.Kind != "netem" && root.Kind != "tbf" && root.Kind != "cake" && root.Kind != "fq_codel") {
		sh.State = StateNone
		sh.Note = "not shaped by npte (kernel default or foreign qdisc " + root.Kind + " " + root.Handle + ")"
		if root.Handle == "1:" || root.Handle == "2:" {
			sh.State = StateForeign // at npte's handles, but not npte's tree
		}
		return sh, nil
	}
	foreign := func(why string) (Shaping, error) {
		sh.State, sh.Args, sh.Note = StateForeign, []string{}, "not npte's: "+why
		return sh, nil
	}
	if len(others) > 0 {
		return foreign("npte builds no " + strings.Join(others, ", "))
	}
	if child != nil && root.Kind != "netem" {
		return foreign("a " + root.Kind + " root with a child qdisc")
	}
	var err error
	var why string
	switch root.Kind {
	case "netem":
		var lim uint64
		sh.Args, sh.Note, lim, err = netemArgs(root.Options)
		if err != nil {
			return sh, err
		}
		if child != nil {
			sh.Qdisc += "+" + child.Kind
			var c []string
			switch c, why, err = childArgs(child.Kind, child.Options); {
			case err != nil:
				return sh, err
			case why != "":
				return foreign(why)
			}
			sh.Args = append(sh.Args, c...)
		}
		sh.Args = withLimit(sh.Args, lim)
	case "tbf":
		var c []string
		if c, why, err = childArgs("tbf", root.Options); err != nil {
			return sh, err
		}
		if why != "" {
			return foreign(why)
		}
		sh.Args = []string{"--rate", c[3]}
	case "cake", "fq_codel":
		if sh.Args, why, err = childArgs(root.Kind, root.Options); err != nil {
			return sh, err
		}
		if why != "" {
			return foreign(why)
		}
	}
	sh.State, sh.Shaped = StateNpte, true
	return sh, nil
}

// withLimit adds --limit N to netem args when N is not the limit netem
// apply renders for the other args (netem's default, or the raised
// limit), or when there is no other netem knob: the args then rebuild the
// same limit.
func withLimit(args []string, limit uint64) []string {
	want := uint64(DefaultLimit)
	if s, err := ParseArgs(args); err == nil {
		for _, w := range pairs(s.Tree().Root) {
			if w[0] == "limit" {
				want, _ = strconv.ParseUint(w[1], 10, 64)
			}
		}
	}
	hasOther := false
	for i := 0; i < len(args); i += 2 {
		hasOther = hasOther || args[i] != "--child" && args[i] != "--child-rate"
	}
	if limit != want || !hasOther {
		args = append(args, "--limit", strconv.FormatUint(limit, 10))
	}
	return args
}

func pairs(w []string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(w); i++ {
		out = append(out, [2]string{w[i], w[i+1]})
	}
	return out
}

// Cake options as `cake bandwidth RATE` (or bare `cake`) leaves them in
// Linux 6.1 (tc -j, iproute2 6.1): any other value is not npte's cake.
var cakeDefaults = map[string]any{
	"diffserv": "diffserv3", "flowmode": "triple-isolate", "nat": false, "wash": false,
	"ingress": false, "ack-filter": "disabled", "split_gso": true, "rtt": float64(100000),
	"raw": true, "overhead": float64(0), "fwmark": "0", "atm": "noatm", "mpu": float64(0),
}

// fq_codel options as a bare `fq_codel` leaves them in Linux 6.1 (tc -j,
// iproute2 6.1; recorded on the user-mode Linux kernel): any other value
// is not npte's fq_codel.
var fqCodelDefaults = map[string]any{
	"limit": float64(10240), "flows": float64(1024), "quantum": float64(1514), "target": float64(4999),
	"interval": float64(99999), "memory_limit": float64(33554432), "ecn": true, "drop_batch": float64(64),
}

// childArgs reads a cake, fq_codel or tbf qdisc back as --child flags; why says
// why it is not one netem apply builds.
func childArgs(kind string, raw json.RawMessage) (args []string, why string, err error) {
	switch kind {
	case "cake":
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, "", err
		}
		for k, v := range o {
			if k == "bandwidth" {
				continue
			}
			if d, ok := cakeDefaults[k]; !ok || d != v {
				return nil, fmt.Sprintf("cake %s %v (npte leaves %v)", k, v, d), nil
			}
		}
		if bw, ok := o["bandwidth"].(float64); ok && bw > 0 {
			return []string{"--child", "cake", "--child-rate", FormatRate(bw * 8)}, "", nil
		}
		return []string{"--child", "cake"}, "", nil
	case "fq_codel":
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, "", err
		}
		for k, v := range o {
			if d, ok := fqCodelDefaults[k]; !ok || d != v {
				return nil, fmt.Sprintf("fq_codel %s %v (npte leaves %v)", k, v, d), nil
			}
		}
		return []string{"--child", "fq_codel"}, "", nil
	case "tbf":
		var o struct {
			Rate     uint64          `json:"rate"`
			Burst    uint64          `json:"burst"`
			Lat      float64         `json:"lat"`
			Peakrate json.RawMessage `json:"peakrate"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, "", err
		}
		rate := FormatRate(float64(o.Rate) * 8)
		if why := tbfIsNpte(float64(o.Rate)*8, o.Burst, o.Lat, o.Peakrate != nil); why != "" {
			return nil, "tbf rate " + rate + ": " + why, nil
		}
		return []string{"--child", "tbf", "--child-rate", rate}, "", nil
	}
	return nil, "npte builds no " + kind + " child", nil
}

// tbfIsNpte checks a tbf read back from the kernel (rate in bit/s, burst
// in bytes, lat in microseconds) against what npte renders for the rate:
// burst TbfBurst, latency TbfLatency, no peakrate. The kernel keeps the
// bucket in 64 ns ticks through a rate approximation (about 1e-4
// relative) and the limit in whole bytes (latency to 1/rate seconds).
func tbfIsNpte(bps float64, burst uint64, latUS float64, peak bool) string {
	if peak {
		return "a peakrate npte does not set"
	}
	if TbfRateOK("", "", bps) != nil {
		return "a rate tbf cannot enforce (npte refuses it)"
	}
	want := float64(TbfBurst(bps))
	if d := math.Abs(float64(burst) - want); d > 2+want*2e-4 {
		return fmt.Sprintf("burst %d where npte sets %.0f", burst, want)
	}
	lat := 50000.0 // TbfLatency in us
	if latUS > lat+2 || latUS < lat-2-1e6*8/bps {
		return fmt.Sprintf("latency %s where npte sets %s", FormatTime(latUS/1e6), TbfLatency)
	}
	return ""
}

type corr struct {
	Correlation float64 `json:"correlation"`
}

// netemOptions is the "options" object tc 6.1 prints for netem (fractions
// for percentages, seconds for times, bytes per second for rates).
type netemOptions struct {
	Limit uint64 `json:"limit"`
	Delay *struct {
		Delay, Jitter float64
		corr
	} `json:"delay"`
	LossRandom *struct {
		Loss float64
		corr
	} `json:"loss-random"`
	LossState *struct {
		P13, P31, P32, P23, P14 float64
	} `json:"loss-state"`
	LossGE *struct {
		P  float64 `json:"p"`
		R  float64 `json:"r"`
		H  float64 `json:"1-h"`
		K1 float64 `json:"1-k"`
	} `json:"loss-gemodel"`
	Duplicate *struct {
		Duplicate float64
		corr
	} `json:"duplicate"`
	Reorder *struct {
		Reorder float64
		corr
	} `json:"reorder"`
	Corrupt *struct {
		Corrupt float64
		corr
	} `json:"corrupt"`
	Rate *struct {
		Rate           uint64
		PacketOverhead int64 `json:"packetoverhead"`
		CellSize       uint64
		CellOverhead   int64 `json:"celloverhead"`
	} `json:"rate"`
	Slot *struct {
		MinDelay     *float64 `json:"min-delay"`
		MaxDelay     *float64 `json:"max-delay"`
		Distribution *float64 `json:"distribution"`
		Jitter       *float64 `json:"jitter"`
		Packets      int64    `json:"packets"`
		Bytes        int64    `json:"bytes"`
	} `json:"slot"`
	ECN bool   `json:"ecn"`
	Gap uint64 `json:"gap"`
}

// netemArgs reads netem options back as flags (without --limit: the
// limit is returned for withLimit).
func netemArgs(raw json.RawMessage) (args []string, note string, limit uint64, err error) {
	var o netemOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, "", 0, err
	}
	add := func(flag string, w ...string) { args = append(args, flag, strings.Join(w, " ")) }
	if o.Delay != nil {
		w := []string{FormatTime(TickTime(o.Delay.Delay))}
		if o.Delay.Jitter > 0 {
			w = append(w, FormatTime(TickTime(o.Delay.Jitter)))
			if o.Delay.Correlation > 0 {
				w = append(w, FormatPct(o.Delay.Correlation))
			}
			note = "the kernel does not report the delay distribution"
		}
		add("--delay", w...)
	}
	var loss []string
	switch {
	case o.LossRandom != nil:
		loss = []string{FormatPct(o.LossRandom.Loss)}
		if o.LossRandom.Correlation > 0 {
			loss = append(loss, FormatPct(o.LossRandom.Correlation))
		}
	case o.LossState != nil:
		s := o.LossState
		loss = []string{"state", FormatPct(s.P13), FormatPct(s.P31), FormatPct(s.P32), FormatPct(s.P23), FormatPct(s.P14)}
	case o.LossGE != nil:
		g := o.LossGE
		loss = []string{"gemodel", FormatPct(g.P), FormatPct(g.R), FormatPct(g.H), FormatPct(g.K1)}
	}
	if loss != nil {
		if o.ECN {
			loss = append(loss, "ecn")
		}
		add("--loss", loss...)
	}
	pc := func(flag string, p, c float64) {
		w := []string{FormatPct(p)}
		if c > 0 {
			w = append(w, FormatPct(c))
		}
		add(flag, w...)
	}
	if o.Duplicate != nil {
		pc("--duplicate", o.Duplicate.Duplicate, o.Duplicate.Correlation)
	}
	if o.Corrupt != nil {
		pc("--corrupt", o.Corrupt.Corrupt, o.Corrupt.Correlation)
	}
	if o.Reorder != nil {
		w := []string{FormatPct(o.Reorder.Reorder)}
		if o.Reorder.Correlation > 0 {
			w = append(w, FormatPct(o.Reorder.Correlation))
		}
		// tc sets gap 1 when --reorder gives none (the kernel then
		// reorders every packet it picks): gap 1 is what the flags
		// without a gap rebuild, so it is not printed.
		if o.Gap > 1 {
			w = append(w, "gap", strconv.FormatUint(o.Gap, 10))
		}
		add("--reorder", w...)
	}
	if r := o.Rate; r != nil && r.Rate > 0 {
		w := []string{FormatRate(float64(r.Rate) * 8)}
		if r.PacketOverhead != 0 || r.CellSize != 0 || r.CellOverhead != 0 {
			w = append(w, strconv.FormatInt(r.PacketOverhead, 10))
		}
		if r.CellSize != 0 || r.CellOverhead != 0 {
			w = append(w, strconv.FormatUint(r.CellSize, 10))
		}
		if r.CellOverhead != 0 {
			w = append(w, strconv.FormatInt(r.CellOverhead, 10))
		}
		add("--rate", w...)
	}
	if s := o.Slot; s != nil {
		var w []string
		switch {
		case s.Distribution != nil && s.Jitter != nil:
			w = []string{"distribution", "?", FormatTime(*s.Distribution), FormatTime(*s.Jitter)}
			note = strings.TrimPrefix(note+"; ", "; ") + "the kernel does not report the slot distribution (shown as ?)"
		case s.MinDelay != nil:
			w = []string{FormatTime(*s.MinDelay)}
			if s.MaxDelay != nil && *s.MaxDelay != *s.MinDelay {
				w = append(w, FormatTime(*s.MaxDelay))
			}
		}
		if s.Packets > 0 {
			w = append(w, "packets", strconv.FormatInt(s.Packets, 10))
		}
		if s.Bytes > 0 {
			w = append(w, "bytes", strconv.FormatInt(s.Bytes, 10))
		}
		if w != nil {
			add("--slot", w...)
		}
	}
	return args, note, o.Limit, nil
}

// FormatTime renders seconds as a TIME word in the largest exact unit
// (microsecond resolution): 0.025 is "25ms", 1.5e-3 is "1500us".
func FormatTime(sec float64) string {
	us := int64(math.Round(sec * 1e6))
	switch {
	case us != 0 && us%1000000 == 0:
		return strconv.FormatInt(us/1000000, 10) + "s"
	case us%1000 == 0:
		return strconv.FormatInt(us/1000, 10) + "ms"
	}
	return strconv.FormatInt(us, 10) + "us"
}

// FormatPct renders a fraction (tc's JSON form) as a PCT word: 0.005 is
// "0.5%". Four decimals of a percent are kept; tc stores percentages as
// 32-bit fractions, so more would only show rounding noise.
func FormatPct(frac float64) string {
	p := math.Round(frac*100*1e4) / 1e4
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// FormatRate renders bit/s as a RATE word in the largest exact decimal
// unit: 30e6 is "30mbit", 1.6e6 is "1600kbit".
func FormatRate(bps float64) string {
	n := uint64(math.Round(bps))
	for _, u := range []struct {
		s string
		d uint64
	}{{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if n != 0 && n%u.d == 0 {
			return strconv.FormatUint(n/u.d, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10) + "bit"
}

// WriteTable prints shapings as an aligned table with a header.
func WriteTable(w io.Writer, shapings []Shaping, quote func([]string) string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NETNS\tIFACE\tDIRECTION\tQDISC\tKNOBS")
	for _, s := range shapings {
		knobs := quote(s.Args)
		if !s.Shaped {
			knobs = "-"
		}
		if s.Note != "" {
			knobs = strings.TrimPrefix(knobs+"  # "+s.Note, "-  ")
			if !s.Shaped {
				knobs = "# " + s.Note
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Netns, s.Iface, s.Direction, s.Qdisc, knobs)
	}
	return tw.Flush()
}

// Spec is the shaping read back as knobs: ParseArgs of Args, validated,
// to compare with the Spec that was applied (a lab's record). It fails
// for a tree that is not npte's, and for one that holds what no flag
// rebuilds (a slot distribution, read back as "?"). The delay
// distribution is not reported by the kernel: a jitter reads back with
// the default, normal.
func (sh Shaping) Spec() (Spec, error) {
	if !sh.Shaped {
		return Spec{}, fmt.Errorf("%s %s of %s is not npte's shaping (%s): %s", sh.Direction, sh.Iface, sh.Netns, sh.State, sh.Note)
	}
	return ParseArgs(sh.Args)
}
