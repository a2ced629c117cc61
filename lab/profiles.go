package lab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// Profile is a named pair of link shapings for the lab: Down shapes the
// router's downlink (router -> client), Up its uplink (router -> server).
// Both are `netem apply` flags, validated by the same grammars as the
// command line (a test parses every profile).
type Profile struct {
	Name        string
	Description string
	// Source names where the numbers come from.
	Source   string
	Down, Up []string
}

// Profiles returns the profile table, sorted by name. A round-trip time
// given by a source is split evenly between the two directions.
func Profiles() []Profile {
	ps := []Profile{
		// Source: the reference npte's `lab netem` profile table and its
		// bufferbloat tutorial chapter: a 4G-like link whose rate queue is
		// netem's deep dumb FIFO (2500/1700 packets).
		{Name: "4g-bloated", Description: "4G, 50 ms RTT, 30/10 Mbit/s behind deep FIFO queues (bufferbloat)",
			Source: "the reference npte's lab profile table",
			Down:   []string{"--delay", "25ms", "--rate", "30mbit", "--limit", "2500"},
			Up:     []string{"--delay", "25ms", "--rate", "10mbit", "--limit", "1700"}},
		// Source: the reference npte's `lab netem` profile table: the same
		// link with the cap in a cake child (AQM) and a delay-only netem.
		{Name: "4g-managed", Description: "4G, 50 ms RTT, 30/10 Mbit/s with cake managing the queue",
			Source: "the reference npte's lab profile table",
			Down:   []string{"--delay", "25ms", "--child", "cake", "--child-rate", "30mbit"},
			Up:     []string{"--delay", "25ms", "--child", "cake", "--child-rate", "10mbit"}},
		// Source: WebPageTest's connectivity profile "3G": 1.6 Mbit/s down,
		// 768 kbit/s up, 300 ms RTT, no loss.
		{Name: "3g", Description: "3G, 300 ms RTT, 1.6 Mbit/s down, 768 kbit/s up",
			Source: `WebPageTest connectivity profile "3G"`,
			Down:   []string{"--delay", "150ms", "--rate", "1600kbit"},
			Up:     []string{"--delay", "150ms", "--rate", "768kbit"}},
		// Source: WebPageTest's connectivity profile "Edge": 240 kbit/s
		// down, 200 kbit/s up, 840 ms RTT, no loss.
		{Name: "edge", Description: "2.5G EDGE, 840 ms RTT, 240 kbit/s down, 200 kbit/s up",
			Source: `WebPageTest connectivity profile "Edge"`,
			Down:   []string{"--delay", "420ms", "--rate", "240kbit"},
			Up:     []string{"--delay", "420ms", "--rate", "200kbit"}},
		// Source: WebPageTest's connectivity profile "DSL": 1.5 Mbit/s
		// down, 384 kbit/s up, 50 ms RTT, no loss.
		{Name: "dsl", Description: "ADSL, 50 ms RTT, 1.5 Mbit/s down, 384 kbit/s up",
			Source: `WebPageTest connectivity profile "DSL"`,
			Down:   []string{"--delay", "25ms", "--rate", "1500kbit"},
			Up:     []string{"--delay", "25ms", "--rate", "384kbit"}},
		// Source: WebPageTest's connectivity profile "Cable" (its default):
		// 5 Mbit/s down, 1 Mbit/s up, 28 ms RTT, no loss.
		{Name: "cable", Description: "cable, 28 ms RTT, 5 Mbit/s down, 1 Mbit/s up",
			Source: `WebPageTest connectivity profile "Cable"`,
			Down:   []string{"--delay", "14ms", "--rate", "5mbit"},
			Up:     []string{"--delay", "14ms", "--rate", "1mbit"}},
		// Source: geostationary orbit physics, 4 x 35 786 km / c = 477 ms
		// of propagation, about 600 ms RTT with the ground segment; rates
		// are the FCC's 2015 broadband benchmark, 25 Mbit/s down, 3 Mbit/s
		// up. npte raises the downlink's netem limit to fit the BDP.
		{Name: "satellite", Description: "geostationary satellite, 600 ms RTT, 25 Mbit/s down, 3 Mbit/s up",
			Source: "GEO propagation delay (4 x 35786 km / c = 477 ms, about 600 ms RTT) and the FCC 2015 broadband benchmark (25/3 Mbit/s)",
			Down:   []string{"--delay", "300ms", "--rate", "25mbit"},
			Up:     []string{"--delay", "300ms", "--rate", "3mbit"}},
		// Source: comcast's (tylertreat/comcast) network condition table,
		// "WIFI (good)": 40 ms latency, 30 Mbit/s, 0.2% loss; the loss is
		// split as 0.1% each way.
		{Name: "wifi", Description: "good Wi-Fi, 40 ms RTT, 30 Mbit/s, 0.2% loss over a round trip",
			Source: `comcast's network condition table, "WIFI (good)"`,
			Down:   []string{"--delay", "20ms", "--rate", "30mbit", "--loss", "0.1%"},
			Up:     []string{"--delay", "20ms", "--rate", "30mbit", "--loss", "0.1%"}},
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

// ProfileNames returns the names of Profiles, sorted.
func ProfileNames() []string {
	var out []string
	for _, p := range Profiles() {
		out = append(out, p.Name)
	}
	return out
}

// FindProfile returns the profile called name, or a *validate.Error that
// lists the known ones.
func FindProfile(name string) (*Profile, error) {
	for _, p := range Profiles() {
		if p.Name == name {
			return &p, nil
		}
	}
	return nil, &validate.Error{Kind: "profile", Value: name, Rule: "must be one of " + strings.Join(ProfileNames(), ", ") + " (npte lab netem --list shows them)"}
}

// Specs parses the profile's two directions.
func (p Profile) Specs() (down, up shape.Spec, err error) {
	if down, err = parseFlags(p.Down); err != nil {
		return down, up, fmt.Errorf("profile %s, downlink: %w", p.Name, err)
	}
	if up, err = parseFlags(p.Up); err != nil {
		return down, up, fmt.Errorf("profile %s, uplink: %w", p.Name, err)
	}
	return down, up, nil
}

func parseFlags(args []string) (shape.Spec, error) {
	var o shape.Options
	fields := map[string]**string{
		"--delay": &o.Delay, "--distribution": &o.Distribution, "--loss": &o.Loss,
		"--duplicate": &o.Duplicate, "--corrupt": &o.Corrupt, "--reorder": &o.Reorder,
		"--rate": &o.Rate, "--slot": &o.Slot, "--limit": &o.Limit,
		"--child": &o.Child, "--child-rate": &o.ChildRate,
	}
	if len(args)%2 != 0 {
		return shape.Spec{}, fmt.Errorf("odd number of words in %q", args)
	}
	for i := 0; i < len(args); i += 2 {
		f, ok := fields[args[i]]
		if !ok {
			return shape.Spec{}, fmt.Errorf("unknown flag %q", args[i])
		}
		v := args[i+1]
		*f = &v
	}
	return shape.Parse(o)
}

// WriteTable prints the profile table: name, downlink and uplink flags,
// description and source.
func WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tDOWNLINK (router if-client)\tUPLINK (router if-server)\tSOURCE")
	for _, p := range Profiles() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, strings.Join(p.Down, " "), strings.Join(p.Up, " "), p.Source)
	}
	return tw.Flush()
}
