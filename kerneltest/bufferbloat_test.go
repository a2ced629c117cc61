package kerneltest

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/npte/npte/internal/uml"
)

// bloat is one profile's figures: median RTT idle and under load, and the
// load's goodput.
type bloat struct {
	idle, loaded pingStats
	mbps         string
}

var iperfRecvRE = regexp.MustCompile(`([\d.]+) Mbits/sec\s+(?:\d+\s+)?receiver`)

// bloatRun applies profile, pings the server idle, then again while the
// client uploads to the server with iperf3 (through the router's uplink,
// if-server), and returns the figures. The iperf3 server is started and
// killed (by pid) here.
func bloatRun(t *testing.T, profile string) bloat {
	t.Helper()
	npte(t, "lab", "netem", "--profile", profile)
	var b bloat
	b.idle = ping(t, 20, "0.1", 56)
	srv := exec.Command("ip", "netns", "exec", "server", "iperf3", "-s", "-1", "-p", "5202")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	for i := 0; i < 100; i++ { // until the server listens
		if out, _ := run(t, "ip", "netns", "exec", "server", "ss", "-Hltn", "sport = :5202"); strings.Contains(out, "LISTEN") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	load := exec.Command("ip", "netns", "exec", "client", "iperf3", "-c", serverAddr, "-p", "5202", "-t", "20", "-f", "m")
	var lout bytes.Buffer
	load.Stdout, load.Stderr = &lout, &lout
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // the sender fills whatever queue there is
	b.loaded = ping(t, 40, "0.25", 56)
	if err := load.Wait(); err != nil {
		t.Fatalf("iperf3 upload under %s: %v\n%s", profile, err, lout.String())
	}
	if m := iperfRecvRE.FindStringSubmatch(lout.String()); m != nil {
		b.mbps = m[1]
	}
	return b
}

// TestUMLBufferbloat is the tutorial's bufferbloat chapter, measured on a
// kernel with netem and cake: in the lab, ping from client to server idle
// and under an iperf3 upload, with 4g-bloated (netem's rate behind FIFO
// queues of 2500 and 1700 packets) and with 4g-managed (delay-only netem,
// cake carrying the rate). Under load the bloated link's median RTT must
// be far above the managed one's; the figures are logged and quoted in
// the chapter.
func TestUMLBufferbloat(t *testing.T) {
	if !uml.Enter(t, uml.StandardModules, 6*time.Minute, binVar+"="+npteBin()) {
		return
	}
	uml.Must(t)
	npte(t, "lab", "create")
	res := map[string]bloat{}
	var lines []string
	for _, p := range []string{"4g-bloated", "4g-managed"} {
		b := bloatRun(t, p)
		res[p] = b
		lines = append(lines, fmt.Sprintf("%-10s idle RTT median %6.1f ms; under upload median %7.1f ms (p25 %.1f, p75 %.1f, max %.1f); upload %s Mbit/s",
			p, b.idle.Median, b.loaded.Median, b.loaded.P25, b.loaded.P75, b.loaded.Max, b.mbps))
	}
	t.Logf("bufferbloat, ping client -> server:\n%s", strings.Join(lines, "\n"))
	bl, mg := res["4g-bloated"], res["4g-managed"]
	for p, b := range res {
		if b.idle.Median < 48 || b.idle.Median > 100 {
			t.Errorf("%s: idle median RTT %.1f ms, want about the profile's 50 ms", p, b.idle.Median)
		}
	}
	if bl.loaded.Median < bl.idle.Median+100 {
		t.Errorf("4g-bloated: loaded median RTT %.1f ms is not far above idle %.1f ms: no bloat measured", bl.loaded.Median, bl.idle.Median)
	}
	if bl.loaded.Median < 3*mg.loaded.Median {
		t.Errorf("under load, 4g-bloated (%.1f ms) is not far above 4g-managed (%.1f ms)", bl.loaded.Median, mg.loaded.Median)
	}
	npte(t, "lab", "destroy")
}
