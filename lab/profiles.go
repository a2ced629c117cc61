package lab

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/npte/npte/shape"
	"github.com/npte/npte/validate"
)

// Profile is a named pair of link shapings for the lab: Down shapes the
// router's downlink (router -> client), Up its uplink (router -> server).
// Both are typed shape.Spec values, held by Validate to the same rules as
// the command line (a test validates every profile).
type Profile struct {
	Name        string
	Description string
	// Source names where the numbers come from; URL, when not empty, is
	// a public page that shows them.
	Source, URL string
	Down, Up    shape.Spec
}

// Public sources of the profiles' numbers.
const (
	// WebPageTest's connectivity profiles (bwIn, bwOut, latency as RTT).
	webPageTestURL = "https://github.com/catchpoint/WebPageTest/blob/master/www/settings/connectivity.ini.sample"
	// comcast's README table "Network Condition Profiles".
	comcastURL = "https://github.com/tylertreat/comcast#network-condition-profiles"
	// The FCC's 2015 Broadband Progress Report (FCC 15-10), which set the
	// broadband benchmark to 25 Mbit/s down, 3 Mbit/s up.
	fcc2015URL = "https://www.fcc.gov/reports-research/reports/broadband-progress-reports/2015-broadband-progress-report"
)

// Profiles returns the profile table, sorted by name. A round-trip time
// given by a source is split evenly between the two directions.
func Profiles() []Profile {
	ms := func(n int) *shape.Delay { return shape.NewDelay(time.Duration(n) * time.Millisecond) }
	rate := shape.NewRate
	ps := []Profile{
		// npte's own numbers: no public profile table gives them. A 4G
		// link of 50 ms RTT and 30/10 Mbit/s whose rate queue is netem's
		// deep dumb FIFO (2500/1700 packets: about 1 s and 2 s of
		// queue at the rates), after the deep cellular buffers measured
		// by Jiang, Wang, Lee and Rhee, "Tackling Bufferbloat in 3G/4G
		// Networks" (ACM IMC 2012).
		{Name: "4g-bloated", Description: "4G, 50 ms RTT, 30/10 Mbit/s behind deep FIFO queues (bufferbloat)",
			Source: "npte's own choice, from no public table; deep FIFOs as Jiang et al. measured in 3G/4G networks (IMC 2012)",
			Down:   shape.Spec{Delay: ms(25), Rate: rate(30 * shape.Mbit), Limit: 2500},
			Up:     shape.Spec{Delay: ms(25), Rate: rate(10 * shape.Mbit), Limit: 1700}},
		// npte's own numbers: the 4g-bloated link with the cap in a cake
		// child (AQM) under a delay-only netem.
		{Name: "4g-managed", Description: "4G, 50 ms RTT, 30/10 Mbit/s with cake managing the queue",
			Source: "npte's own choice, from no public table; the 4g-bloated link with cake as its queue",
			Down:   shape.Spec{Delay: ms(25), Child: "cake", ChildRate: shape.NewChildRate(30 * shape.Mbit)},
			Up:     shape.Spec{Delay: ms(25), Child: "cake", ChildRate: shape.NewChildRate(10 * shape.Mbit)}},
		// WebPageTest's profile [3G], "Mobile 3G (1.6 Mbps/768 Kbps
		// 300ms RTT)", no loss.
		{Name: "3g", Description: "3G, 300 ms RTT, 1.6 Mbit/s down, 768 kbit/s up",
			Source: `WebPageTest connectivity profile "3G"`, URL: webPageTestURL,
			Down: shape.Spec{Delay: ms(150), Rate: rate(1600 * shape.Kbit)},
			Up:   shape.Spec{Delay: ms(150), Rate: rate(768 * shape.Kbit)}},
		// WebPageTest's profile [Edge], "Mobile Edge (240 Kbps/200 Kbps
		// 840ms RTT)", no loss.
		{Name: "edge", Description: "2.5G EDGE, 840 ms RTT, 240 kbit/s down, 200 kbit/s up",
			Source: `WebPageTest connectivity profile "Edge"`, URL: webPageTestURL,
			Down: shape.Spec{Delay: ms(420), Rate: rate(240 * shape.Kbit)},
			Up:   shape.Spec{Delay: ms(420), Rate: rate(200 * shape.Kbit)}},
		// WebPageTest's profile [DSL], "DSL (1.5 Mbps/384 Kbps 50ms
		// RTT)", no loss.
		{Name: "dsl", Description: "ADSL, 50 ms RTT, 1.5 Mbit/s down, 384 kbit/s up",
			Source: `WebPageTest connectivity profile "DSL"`, URL: webPageTestURL,
			Down: shape.Spec{Delay: ms(25), Rate: rate(1500 * shape.Kbit)},
			Up:   shape.Spec{Delay: ms(25), Rate: rate(384 * shape.Kbit)}},
		// WebPageTest's profile [Cable] (its default), "Cable (5/1 Mbps
		// 28ms RTT)", no loss.
		{Name: "cable", Description: "cable, 28 ms RTT, 5 Mbit/s down, 1 Mbit/s up",
			Source: `WebPageTest connectivity profile "Cable"`, URL: webPageTestURL,
			Down: shape.Spec{Delay: ms(14), Rate: rate(5 * shape.Mbit)},
			Up:   shape.Spec{Delay: ms(14), Rate: rate(1 * shape.Mbit)}},
		// Geostationary orbit physics: 4 x 35 786 km / c = 477 ms of
		// propagation, about 600 ms RTT with the ground segment; rates
		// are the FCC's 2015 broadband benchmark, 25 Mbit/s down, 3 Mbit/s
		// up. npte raises the downlink's netem limit to fit the BDP.
		{Name: "satellite", Description: "geostationary satellite, 600 ms RTT, 25 Mbit/s down, 3 Mbit/s up",
			Source: "GEO propagation delay (4 x 35786 km / c = 477 ms, about 600 ms RTT) and the FCC 2015 broadband benchmark (25/3 Mbit/s)", URL: fcc2015URL,
			Down: shape.Spec{Delay: ms(300), Rate: rate(25 * shape.Mbit)},
			Up:   shape.Spec{Delay: ms(300), Rate: rate(3 * shape.Mbit)}},
		// comcast's (tylertreat/comcast) network condition table,
		// "WIFI (good)": latency 40 ms, bandwidth 30000 kbit/s, packet
		// loss 0.2%; comcast adds them once per round trip, so the
		// latency is split 20 ms and the loss 0.1% each way.
		{Name: "wifi", Description: "good Wi-Fi, 40 ms RTT, 30 Mbit/s, 0.2% loss over a round trip",
			Source: `comcast's network condition table, "WIFI (good)"`, URL: comcastURL,
			Down: shape.Spec{Delay: ms(20), Rate: rate(30 * shape.Mbit), Loss: shape.RandomLoss(0.1)},
			Up:   shape.Spec{Delay: ms(20), Rate: rate(30 * shape.Mbit), Loss: shape.RandomLoss(0.1)}},
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

// Specs returns the profile's two directions, validated.
func (p Profile) Specs() (down, up shape.Spec, err error) {
	down, up = p.Down, p.Up
	if err = down.Validate(); err != nil {
		return down, up, fmt.Errorf("profile %s, downlink: %w", p.Name, err)
	}
	if err = up.Validate(); err != nil {
		return down, up, fmt.Errorf("profile %s, uplink: %w", p.Name, err)
	}
	return down, up, nil
}

// WriteTable prints the profile table: name, downlink and uplink flags
// and source, then the public page of each source, numbered.
func WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tDOWNLINK (router if-client)\tUPLINK (router if-server)\tSOURCE")
	var urls []string
	for _, p := range Profiles() {
		src := p.Source
		if p.URL != "" {
			n := slices.Index(urls, p.URL)
			if n < 0 {
				urls, n = append(urls, p.URL), len(urls)
			}
			src += fmt.Sprintf(" [%d]", n+1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, strings.Join(p.Down.Args(), " "), strings.Join(p.Up.Args(), " "), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, u := range urls {
		if _, err := fmt.Fprintf(w, "[%d] %s\n", i+1, u); err != nil {
			return err
		}
	}
	return nil
}
