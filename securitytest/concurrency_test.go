package securitytest

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/npte/npte/internal/sandbox"
)

// workers is how many npte processes run at once.
const workers = 16

// tally counts exit codes per verb, safely from many goroutines.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	runs   int
}

func (c *tally) add(verb string, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[fmt.Sprintf("%s=%d", verb, code)]++
	c.runs++
}

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s:%d", k, c.counts[k])
	}
	return b.String()
}

// op runs one npte verb (live, or as a rendered script piped into sh) and
// checks its exit code is one of allowed.
func op(ctx context.Context, t *testing.T, c *tally, script bool, allowed []int, args ...string) int {
	if script {
		args = append(append([]string{}, args...), "--dry-run")
	}
	r := run(ctx, t, proc{Args: args, Script: script})
	mode := "live"
	if script {
		mode = "script"
	}
	c.add(mode+":"+args[1], r.Code)
	for _, a := range allowed {
		if r.Code == a {
			return r.Code
		}
	}
	t.Errorf("unexpected exit (want one of %v):\n%s", allowed, r)
	return r.Code
}

// connectImplemented reports whether `netns connect` exists yet.
func connectImplemented(t *testing.T) bool {
	r := mustRunAny(t, "netns", "connect", "--dry-run", "a", "b")
	return r.Code == 0
}

// TestConcurrentDistinctNames runs 16 npte processes at once, half live
// and half as rendered scripts piped into sh, each creating, connecting
// (to its neighbour) and destroying its own namespace for several rounds.
// Creates and destroys of one's own name must always succeed; connects
// succeed or are refused (exit 2) when the neighbour is gone; nothing
// ever fails half-way (exit 1); the end state is consistent.
func TestConcurrentDistinctNames(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mustRun(t, 0, "netns", "list")
	connect := connectImplemented(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const rounds = 3
	var c tally
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			me, next := fmt.Sprintf("d%d", i), fmt.Sprintf("d%d", (i+1)%workers)
			script := i%2 == 1
			for r := 0; r < rounds; r++ {
				op(ctx, t, &c, script, []int{0}, "netns", "create", me)
				if connect {
					op(ctx, t, &c, script, []int{0, 2}, "netns", "connect", me, next)
				}
				if r < rounds-1 || i%3 == 0 {
					op(ctx, t, &c, script, []int{0}, "netns", "destroy", me)
				}
			}
		}(i)
	}
	wg.Wait()
	present := checkConsistent(t)
	want := 0
	for i := 0; i < workers; i++ {
		if i%3 != 0 {
			want++
		}
	}
	if len(present) != want {
		t.Errorf("want %d namespaces left, got %v", want, present)
	}
	t.Logf("%d npte processes at once (half live, half script | sh), %d runs in %v, exit codes:%s; end state consistent, %d namespaces left as expected, no orphan",
		workers, c.runs, time.Since(start).Round(time.Millisecond), c.String(), len(present))
}

// TestConcurrentSameNames races 16 npte processes on the same names:
// exactly one create and one destroy of a name win, the others are
// refused with exit 2; then a random mix of create, connect and destroy on
// three names, live and scripted, leaves a consistent state.
func TestConcurrentSameNames(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mustRun(t, 0, "netns", "list")
	connect := connectImplemented(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var c tally
	start := time.Now()
	for _, verb := range []string{"create", "destroy"} {
		codes := make(chan int, workers)
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes <- op(ctx, t, &c, i%2 == 1, []int{0, 2}, "netns", verb, "same")
			}(i)
		}
		wg.Wait()
		close(codes)
		wins := 0
		for code := range codes {
			if code == 0 {
				wins++
			}
		}
		if wins != 1 {
			t.Errorf("%d processes racing to %s one name: %d succeeded, want exactly 1", workers, verb, wins)
		}
		checkConsistent(t)
	}

	names := []string{"ra", "rb", "rc"}
	const opsPerWorker = 12
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			script := i%2 == 1
			for k := 0; k < opsPerWorker; k++ {
				a := names[rng.Intn(len(names))]
				switch n := rng.Intn(3); {
				case n == 0:
					op(ctx, t, &c, script, []int{0, 2}, "netns", "create", a)
				case n == 1 && connect:
					b := names[(indexOf(names, a)+1+rng.Intn(len(names)-1))%len(names)]
					op(ctx, t, &c, script, []int{0, 2}, "netns", "connect", a, b)
				default:
					op(ctx, t, &c, script, []int{0, 2}, "netns", "destroy", a)
				}
			}
		}(i)
	}
	wg.Wait()
	present := checkConsistent(t)
	t.Logf("%d npte processes at once racing on the same names, %d runs in %v, exit codes:%s; end state consistent (%v present), no orphan",
		workers, c.runs, time.Since(start).Round(time.Millisecond), c.String(), present)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestScriptSharesLock proves that a rendered script piped into sh and a
// live npte wait on the same lock: while flock(1) holds /run/npte/lock,
// neither changes anything; once it is released, both complete. And while
// a live npte holds the lock (paused inside its plan), a script waits.
func TestScriptSharesLock(t *testing.T) {
	if !sandbox.Enter(t) {
		return
	}
	mustRun(t, 0, "netns", "list")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	release := holdLock(t)
	done := make(chan result, 2)
	go func() { done <- run(ctx, t, proc{Args: []string{"netns", "create", "la"}}) }()
	go func() { done <- run(ctx, t, proc{Args: []string{"netns", "create", "sa", "--dry-run"}, Script: true}) }()
	time.Sleep(1500 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("npte ran while flock(1) held the lock:\n%s", r)
	default:
	}
	for _, n := range []string{"la", "sa"} {
		if exists("/run/netns/"+n) || exists("/run/npte/intent/"+n) || exists("/run/npte/netns/"+n) {
			t.Fatalf("%s changed while the lock was held by flock(1)", n)
		}
	}
	released := time.Now()
	release()
	for i := 0; i < 2; i++ {
		if r := <-done; r.Code != 0 {
			t.Fatalf("after the lock was released:\n%s", r)
		}
	}
	t.Logf("flock(1) held the lock 1.5s: live npte and script | sh both waited, then finished %v after release", time.Since(released).Round(time.Millisecond))

	// A live npte paused inside its plan (lock held) holds off a script.
	pause := t.TempDir() + "/pause"
	go func() {
		done <- run(ctx, t, proc{Args: []string{"netns", "create", "lb"}, Env: []string{"NPTE_TEST_PAUSE_AT=3", "NPTE_TEST_PAUSE_FILE=" + pause}})
	}()
	waitFile(t, pause)
	go func() { done <- run(ctx, t, proc{Args: []string{"netns", "destroy", "la", "--dry-run"}, Script: true}) }()
	time.Sleep(1 * time.Second)
	if !exists("/run/netns/la") || !exists("/run/npte/netns/la") {
		t.Fatal("the script destroyed la while a live npte held the lock")
	}
	select {
	case r := <-done:
		t.Fatalf("a process ended while the live npte held the lock:\n%s", r)
	default:
	}
	removeFile(t, pause)
	for i := 0; i < 2; i++ {
		if r := <-done; r.Code != 0 {
			t.Fatalf("after the live npte finished:\n%s", r)
		}
	}
	if got := checkConsistent(t); strings.Join(got, " ") != "lb sa" {
		t.Errorf("want lb and sa left, got %v", got)
	}
	t.Logf("a live npte holding the lock for 1s held off a script | sh; both then completed")
}
