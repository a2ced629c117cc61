package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/npte/npte/plan"
)

// laneKey is the context key of Lane.
type laneKey struct{}

// Lane returns the 1-based lane of plan.Lanes that the command started
// with ctx runs in, or 0 outside lanes. A Starter may use it to tell the
// lanes' commands apart (the fidelity harness orders what it records by
// lane: the lanes run at the same time).
func Lane(ctx context.Context) int {
	n, _ := ctx.Value(laneKey{}).(int)
	return n
}

// SyncWriter returns a writer that writes to w holding mu: writers that
// share mu never write at the same time. The lanes of plan.Lanes write
// the programs' output and the "+ ARGV" lines through it.
func SyncWriter(w io.Writer, mu *sync.Mutex) io.Writer { return syncWriter{mu, w} }

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// laneResult is what one lane did.
type laneResult struct {
	done      []string  // descriptions of what completed, in order
	failed    plan.Step // the step that failed, nil when none did
	index     int       // its 1-based index in the plan
	err       error
	stopped   bool // a signal stopped the lane before one of its steps:
	stoppedAt int  // the index of that step
}

// lanes runs plan.Lanes as the script does: every lane at once (one
// goroutine each), each lane's steps in order, a lane stopping at its
// first failure while the others run to their end; then it reports. What
// completed is listed lane by lane, so the report of a failure does not
// depend on timing; the failure reported is that of the first failed
// lane. A SIGINT or SIGTERM lets each lane finish its current step and
// start no other. BeforeStep, when set, is called from the lanes with
// the index of each of their steps (lane by lane, the order of
// plan.Walk).
func (r *Runner) lanes(ctx context.Context, st *state, s plan.Lanes) error {
	base := st.index
	// Resolve every program first: the lanes then share the cache,
	// read-only.
	for _, l := range s.Lanes {
		for _, x := range l {
			var argv []string
			switch x := x.(type) {
			case plan.Batch:
				argv = x.Argv
			case plan.Command:
				if x.Handoff || x.Tolerant {
					return st.fail(x, errors.New("a handoff or tolerated command in a lane"), ExitFailure)
				}
				argv = x.Argv
			default:
				return st.fail(x, fmt.Errorf("%T in a lane", x), ExitFailure)
			}
			if _, err := r.Resolve(argv[0]); err != nil {
				return st.fail(x, err, ExitFailure)
			}
		}
	}
	mu := &sync.Mutex{}
	lr := *r
	lr.Stdout = SyncWriter(r.Stdout, mu)
	lr.Stderr = SyncWriter(r.Stderr, mu)
	sg := &laneSignal{sigs: st.sigs, stop: make(chan struct{})}
	res := make([]laneResult, len(s.Lanes))
	var wg sync.WaitGroup
	first := base
	for j, l := range s.Lanes {
		wg.Add(1)
		go func(j int, l []plan.Step, index int) {
			defer wg.Done()
			res[j] = lr.lane(context.WithValue(ctx, laneKey{}, j+1), st.lock, l, index, sg)
		}(j, l, first)
		first += plan.Count(l)
	}
	wg.Wait()
	for _, x := range res {
		st.done = append(st.done, x.done...)
	}
	for j, x := range res {
		if x.failed != nil {
			st.index = x.index
			err := fmt.Errorf("%w (lane %d of %d)", x.err, j+1, len(res))
			if n := failedLanes(res); n > 1 {
				err = fmt.Errorf("%w (lane %d of %d; %d lanes failed, the first is shown)", x.err, j+1, len(res), n)
			}
			return st.fail(x.failed, err, ExitFailure)
		}
	}
	st.index = first
	if sg.sig != nil {
		next := 0
		for _, x := range res {
			if x.stopped && (next == 0 || x.stoppedAt < next) {
				next = x.stoppedAt
			}
		}
		st.index = next
		return st.fail(nil, errors.New(sigName(sg.sig)), sigCode(sg.sig))
	}
	return nil
}

// laneSignal is a SIGINT or SIGTERM as the lanes see it: the first lane
// that finds one on the plan's channel, before one of its steps, keeps it
// and stops every lane before its next step. A signal that comes while
// the last steps run stays on the channel, for the plan's next step.
type laneSignal struct {
	sigs <-chan os.Signal
	once sync.Once
	stop chan struct{}
	sig  os.Signal // set once, before stop is closed
}

// stopped reports whether the lanes must start no further step.
func (l *laneSignal) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
	}
	select {
	case s := <-l.sigs:
		l.once.Do(func() {
			l.sig = s
			close(l.stop)
		})
		return true
	default:
		return false
	}
}

// failedLanes counts the lanes that failed.
func failedLanes(res []laneResult) int {
	n := 0
	for _, x := range res {
		if x.failed != nil {
			n++
		}
	}
	return n
}

// lane runs the steps of one lane, the first of them being step index+1
// of the plan.
func (r *Runner) lane(ctx context.Context, lock *os.File, steps []plan.Step, index int, sg *laneSignal) laneResult {
	var out laneResult
	for _, x := range steps {
		index++
		if sg.stopped() {
			out.stopped, out.stoppedAt = true, index
			return out
		}
		if r.BeforeStep != nil {
			r.BeforeStep(index)
		}
		switch x := x.(type) {
		case plan.Batch:
			line, err := r.batch(ctx, x, lock)
			if err == nil {
				for _, l := range x.Lines {
					for _, s := range l.Steps {
						out.done = append(out.done, describe(s))
					}
				}
				continue
			}
			done, failed, err := batchFailure(x, line, err)
			out.done = append(out.done, done...)
			out.index, out.failed, out.err = index, failed, err
			return out
		case plan.Command:
			if err := r.command(ctx, x, lock); err != nil {
				out.index, out.err, out.failed = index, err, x
				return out
			}
			out.done = append(out.done, describe(x))
		}
	}
	return out
}
