package kerneltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
)

// Guest-side helpers: every one of them runs only inside a UML guest
// (uml.Must), where the kernel is the guest's own.

// Lab addresses (package lab): the client reaches the server through the
// router, whose if-client egress is the downlink and if-server egress the
// uplink.
const (
	clientAddr = "172.16.3.2"
	serverAddr = "172.16.2.2"
)

// run runs argv and returns its combined output and exit status.
func run(t testing.TB, argv ...string) (string, int) {
	t.Helper()
	uml.Must(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out.String(), code
}

// must runs argv and fails the test unless it exits 0; it returns stdout
// and stderr together.
func must(t testing.TB, argv ...string) string {
	t.Helper()
	out, code := run(t, argv...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(argv, " "), code, out)
	}
	return out
}

// npte runs the npte binary built on the host.
func npte(t testing.TB, args ...string) string {
	t.Helper()
	return must(t, append([]string{npteBin()}, args...)...)
}

// npteCode runs npte and returns its stdout, stderr and exit status.
func npteCode(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	uml.Must(t)
	cmd := exec.Command(npteBin(), args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

// script renders args with --dry-run and runs the script with sh.
func script(t testing.TB, args ...string) {
	t.Helper()
	s := dryRun(t, args...)
	f, err := os.CreateTemp("", "npte-script-*.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	must(t, "sh", f.Name())
}

// dryRun returns the script npte ARGS --dry-run prints on stdout (its
// warnings go to stderr).
func dryRun(t testing.TB, args ...string) string {
	t.Helper()
	so, se, code := npteCode(t, append(append([]string(nil), args...), "--dry-run")...)
	if code != 0 {
		t.Fatalf("npte %s --dry-run: exit %d\n%s", strings.Join(args, " "), code, se)
	}
	return so
}

// pingStats is what ping's summary says.
type pingStats struct {
	Sent, Received, Dups int
	Min, Avg, Max, Mdev  float64 // ms
	Median               float64 // ms, of the per-packet RTTs
	P25, P75             float64 // ms: quartiles of the per-packet RTTs
	LossFraction         float64
}

var (
	pingCountRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?`)
	pingRTTRE   = regexp.MustCompile(`= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms`)
	pingTimeRE  = regexp.MustCompile(`time=([\d.]+) ms`)
)

// ping pings the server from the client: count packets, interval seconds
// apart, payload bytes each.
func ping(t testing.TB, count int, interval string, size int) pingStats {
	t.Helper()
	out, _ := run(t, "ip", "netns", "exec", "client", "ping", "-n", "-c", strconv.Itoa(count),
		"-i", interval, "-s", strconv.Itoa(size), "-W", "3", serverAddr)
	var s pingStats
	m := pingCountRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping: no summary:\n%s", out)
	}
	s.Sent, _ = strconv.Atoi(m[1])
	s.Received, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		s.Dups, _ = strconv.Atoi(m[3])
	}
	s.LossFraction = 1 - float64(s.Received)/float64(s.Sent)
	if m := pingRTTRE.FindStringSubmatch(out); m != nil {
		s.Min, _ = strconv.ParseFloat(m[1], 64)
		s.Avg, _ = strconv.ParseFloat(m[2], 64)
		s.Max, _ = strconv.ParseFloat(m[3], 64)
		s.Mdev, _ = strconv.ParseFloat(m[4], 64)
	}
	var rtts []float64
	for _, m := range pingTimeRE.FindAllStringSubmatch(out, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, f)
	}
	if len(rtts) > 0 {
		sort.Float64s(rtts)
		s.Median = rtts[len(rtts)/2]
		s.P25, s.P75 = rtts[len(rtts)/4], rtts[3*len(rtts)/4]
	}
	return s
}

// iperf runs an iperf3 test from the client to the server (reverse: the
// server sends) and returns iperf3's JSON "end" section.
func iperf(t testing.TB, args ...string) map[string]any {
	t.Helper()
	uml.Must(t)
	srv := exec.Command("ip", "netns", "exec", "server", "iperf3", "-s", "-1", "-p", "5201")
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Kill() // the server we started, by its pid
		_ = srv.Wait()
	}()
	var out string
	var code int
	var v struct {
		End   map[string]any `json:"end"`
		Error string         `json:"error"`
	}
	var err error
	for i := 0; i < 50; i++ { // wait for the server to listen
		time.Sleep(100 * time.Millisecond)
		out, code = run(t, append([]string{"ip", "netns", "exec", "client", "iperf3", "-c", serverAddr, "-p", "5201", "-J"}, args...)...)
		v.End, v.Error = nil, ""
		err = json.Unmarshal([]byte(out), &v)
		if !strings.Contains(v.Error, "unable to connect") {
			break
		}
	}
	if err != nil || code != 0 || v.Error != "" {
		t.Fatalf("iperf3 %v: exit %d %v %s\n%s\nserver: %s", args, code, err, v.Error, out, srvOut.String())
	}
	return v.End
}

func num(m map[string]any, path ...string) float64 {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return math.NaN()
		}
		cur = mm[p]
	}
	f, ok := cur.(float64)
	if !ok {
		return math.NaN()
	}
	return f
}

// findNum returns the first number stored under key anywhere in v
// (iperf3 puts UDP counters in end.sum or end.streams[].udp, by version).
func findNum(v any, key string) float64 {
	switch x := v.(type) {
	case map[string]any:
		if f, ok := x[key].(float64); ok {
			return f
		}
		for _, k := range sortedKeys(x) {
			if f := findNum(x[k], key); !math.IsNaN(f) {
				return f
			}
		}
	case []any:
		for _, e := range x {
			if f := findNum(e, key); !math.IsNaN(f) {
				return f
			}
		}
	}
	return math.NaN()
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// goodput measures TCP goodput (bit/s, at the receiver) from the client
// to the server, or from the server to the client when reverse.
func goodput(t testing.TB, reverse bool) float64 {
	t.Helper()
	args := []string{"-t", "5", "-O", "1"}
	if reverse {
		args = append(args, "-R")
	}
	return num(iperf(t, args...), "sum_received", "bits_per_second")
}

// TCPGoodputShare is the share of a shaper's rate that TCP payload gets
// with full-size frames: tc's rate accounting (netem, tbf, cake without
// an overhead keyword, ifb redirects) counts the skb length, which on a
// veth egress is the 14-byte Ethernet header plus the 1500-byte IP packet;
// the payload is 1500 - 20 (IP) - 32 (TCP with timestamps) = 1448 bytes.
const TCPGoodputShare = 1448.0 / 1514.0

// tcState is the tc state of every interface in ns: qdiscs and filters
// (egress and ingress), as normalized JSON, for comparing script and live.
func tcState(t testing.TB, ns string) string {
	t.Helper()
	var links []struct {
		Name string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(must(t, "ip", "-n", ns, "-j", "link", "show")), &links); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s qdisc %s\n", n, normalize(must(t, "tc", "-n", ns, "-j", "qdisc", "show", "dev", n)))
		for _, parent := range []string{"root", "ffff:"} {
			out, code := run(t, "tc", "-n", ns, "-j", "filter", "show", "dev", n, "parent", parent)
			if code == 0 {
				fmt.Fprintf(&b, "%s filter %s %s\n", n, parent, normalize(out))
			}
		}
	}
	return b.String()
}

// volatileKeys differ between two identical trees built one after the
// other (action indexes and reference counts, timestamps, statistics).
var volatileKeys = map[string]bool{"index": true, "ref": true, "bind": true, "installed": true,
	"last_used": true, "first_used": true, "expires": true, "stats": true, "ifindex": true}

func normalize(js string) string {
	var v any
	if err := json.Unmarshal([]byte(strings.TrimSpace(js)), &v); err != nil {
		return strings.TrimSpace(js)
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				if volatileKeys[k] {
					delete(x, k)
				} else {
					walk(v)
				}
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	b, _ := json.Marshal(v)
	return string(b)
}

// applyBoth builds the same shaping twice, first by running the dry-run
// script with sh, then live, and fails unless both give the same tc
// state on the router. It leaves the live state in place.
func applyBoth(t testing.TB, args ...string) {
	t.Helper()
	clearRouter(t)
	script(t, args...)
	fromScript := tcState(t, "router")
	clearRouter(t)
	npte(t, args...)
	live := tcState(t, "router")
	if fromScript != live {
		t.Fatalf("script and live differ for npte %s:\nscript:\n%s\nlive:\n%s", strings.Join(args, " "), fromScript, live)
	}
	t.Logf("script == live: npte %s (tc state of router's %d interfaces)", strings.Join(args, " "), strings.Count(live, " qdisc "))
}

func clearRouter(t testing.TB) {
	t.Helper()
	npte(t, "netem", "clear", "router", "if-client")
	npte(t, "netem", "clear", "router", "if-server")
}

// binomial99 is the 99 % interval (normal approximation, z = 2.576) of
// the fraction of n trials that hit with probability p.
func binomial99(p float64, n int) (lo, hi float64) {
	d := 2.576 * math.Sqrt(p*(1-p)/float64(n))
	return p - d, p + d
}

// summary collects the measured figures of a suite for its closing table.
type summary struct {
	mu   sync.Mutex
	rows [][4]string
}

func (s *summary) add(what, configured, measured, verdict string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, [4]string{what, configured, measured, verdict})
}

func (s *summary) log(t testing.TB) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "SUMMARY %-44s | %-30s | %-34s | %s\n", "case", "configured", "measured", "verdict")
	for _, r := range s.rows {
		fmt.Fprintf(&b, "SUMMARY %-44s | %-30s | %-34s | %s\n", r[0], r[1], r[2], r[3])
	}
	t.Log("\n" + b.String())
}
