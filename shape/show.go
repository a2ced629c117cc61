package shape

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Shaping is what one direction of one interface carries, in npte's knob
// terms: Args are `netem apply` flags that rebuild it.
type Shaping struct {
	Netns     string    `json:"netns"`
	Iface     string    `json:"iface"`
	Direction Direction `json:"direction"`
	// Qdisc is the tree: "netem", "tbf", "cake", "netem+cake",
	// "netem+tbf", or the kind of a qdisc npte did not put there.
	Qdisc string `json:"qdisc"`
	// Shaped is false for a kernel default qdisc (noqueue, pfifo_fast,
	// fq_codel, mq, ...) or a tree npte does not make.
	Shaped bool     `json:"shaped"`
	Args   []string `json:"args"`
	// Note explains what could not be read back (the delay distribution,
	// which the kernel does not report) or why a tree is not npte's.
	Note string `json:"note,omitempty"`
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

// ReadQdiscs parses the output of `tc -j qdisc show` (all devices of one
// namespace) into one Shaping per interface and direction, sorted by
// interface: every device's egress, and the ingress of each device whose
// ingress qdisc redirects to its ifb device (IfbName). ifb devices made
// by npte are reported only through the interface they serve, and an
// unshaped loopback is left out. When iface is not empty, only that
// interface is reported.
func ReadQdiscs(ns, iface string, data []byte) ([]Shaping, error) {
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
		if hasIngress(byDev[d]) {
			if _, ok := byDev[IfbName(d)]; ok {
				ifbs[IfbName(d)] = true
			}
		}
	}
	out := []Shaping{}
	for _, d := range devs {
		if ifbs[d] || iface != "" && d != iface {
			continue
		}
		sh, err := readTree(byDev[d])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		sh.Netns, sh.Iface, sh.Direction = ns, d, Egress
		if d == "lo" && iface == "" && !sh.Shaped && !hasIngress(byDev[d]) {
			continue // an unshaped loopback is noise
		}
		out = append(out, sh)
		if hasIngress(byDev[d]) {
			in := Shaping{Netns: ns, Iface: d, Direction: Ingress, Qdisc: "ingress", Note: "an ingress qdisc that npte did not make (no " + IfbName(d) + " device)"}
			if ifbs[IfbName(d)] {
				if in, err = readTree(byDev[IfbName(d)]); err != nil {
					return nil, fmt.Errorf("%s: %w", IfbName(d), err)
				}
				in.Netns, in.Iface, in.Direction = ns, d, Ingress
			}
			out = append(out, in)
		}
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

// readTree reads the root (handle 1:) and child (parent 1:) of one device.
func readTree(qs []qdisc) (Shaping, error) {
	var root, child *qdisc
	for i := range qs {
		switch q := &qs[i]; {
		case q.Root:
			root = q
		case strings.HasPrefix(q.Parent, "1:") && q.Handle == "2:":
			child = q
		}
	}
	if root == nil {
		return Shaping{Qdisc: "none", Note: "no root qdisc"}, nil
	}
	sh := Shaping{Qdisc: root.Kind}
	if root.Handle != "1:" || (root.Kind != "netem" && root.Kind != "tbf" && root.Kind != "cake" && root.Kind != "fq_codel") {
		sh.Note = "not shaped by npte (kernel default or foreign qdisc " + root.Kind + " " + root.Handle + ")"
		return sh, nil
	}
	sh.Shaped = true
	var err error
	switch root.Kind {
	case "netem":
		sh.Args, sh.Note, err = netemArgs(root.Options)
		if err == nil && child != nil {
			sh.Qdisc += "+" + child.Kind
			var c []string
			c, err = childArgs(child.Kind, child.Options)
			sh.Args = append(sh.Args, c...)
		}
		sh.Args = dropRaisedLimit(sh.Args)
	case "tbf":
		var o struct{ Rate uint64 }
		if err = json.Unmarshal(root.Options, &o); err == nil {
			sh.Args = []string{"--rate", FormatRate(float64(o.Rate) * 8)}
		}
	case "cake", "fq_codel":
		sh.Args, err = childArgs(root.Kind, root.Options)
	}
	return sh, err
}

func childArgs(kind string, raw json.RawMessage) ([]string, error) {
	switch kind {
	case "cake":
		var o struct {
			Bandwidth json.RawMessage `json:"bandwidth"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		var bw uint64
		if json.Unmarshal(o.Bandwidth, &bw) == nil && bw > 0 {
			return []string{"--child", "cake", "--child-rate", FormatRate(float64(bw) * 8)}, nil
		}
		return []string{"--child", "cake"}, nil
	case "tbf":
		var o struct{ Rate uint64 }
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		return []string{"--child", "tbf", "--child-rate", FormatRate(float64(o.Rate) * 8)}, nil
	}
	return []string{"--child", kind}, nil
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

func netemArgs(raw json.RawMessage) (args []string, note string, err error) {
	var o netemOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, "", err
	}
	add := func(flag string, w ...string) { args = append(args, flag, strings.Join(w, " ")) }
	if o.Delay != nil {
		w := []string{FormatTime(o.Delay.Delay)}
		if o.Delay.Jitter > 0 {
			w = append(w, FormatTime(o.Delay.Jitter))
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
	if o.Limit != DefaultLimit && o.Limit != 0 {
		args = append(args, "--limit", strconv.FormatUint(o.Limit, 10))
	}
	return args, note, nil
}

// dropRaisedLimit removes "--limit N" from read-back args when N is the
// limit npte itself raises for the other flags (Tree, RaisedLimit): the
// flags without it rebuild the same tree, and they are what was applied.
func dropRaisedLimit(args []string) []string {
	i := -1
	for j := 0; j+1 < len(args); j += 2 {
		if args[j] == "--limit" {
			i = j
		}
	}
	if i < 0 {
		return args
	}
	rest := append(append([]string(nil), args[:i]...), args[i+2:]...)
	var o Options
	fields := map[string]**string{
		"--delay": &o.Delay, "--loss": &o.Loss, "--duplicate": &o.Duplicate, "--corrupt": &o.Corrupt,
		"--reorder": &o.Reorder, "--rate": &o.Rate, "--slot": &o.Slot, "--child": &o.Child, "--child-rate": &o.ChildRate,
	}
	for j := 0; j+1 < len(rest); j += 2 {
		f, ok := fields[rest[j]]
		if !ok {
			return args
		}
		v := rest[j+1]
		*f = &v
	}
	spec, err := Parse(o)
	if err != nil {
		return args
	}
	root := spec.Tree().Root
	for j := 0; j+1 < len(root); j++ {
		if root[j] == "limit" && root[j+1] == args[i+1] {
			return rest
		}
	}
	return args
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
