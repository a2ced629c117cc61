package plan

import "strconv"

// Lanes runs its lanes at the same time and waits for all of them: the
// steps of each lane one after another, in order, a lane stopping at its
// first failed step while the others run to their end; Lanes fails when
// any lane failed. The batching pass builds it from the per-namespace
// work of a run (package batch): each lane holds the work of its own
// namespaces (their sysctls, then their ip and tc batches, each program
// entering its namespace with nsenter: EnterNetns), so no lane depends on another,
// and every lane runs after the steps before Lanes and before the steps
// after it. A lane holds only Batch and Command steps that read no
// standard input but their heredoc (a script's background job reads
// /dev/null).
//
// Interrupted, live npte lets each lane finish the program it runs and
// start no other; a script's lanes, background jobs that ignore SIGINT,
// run to their end while the script itself stops. Either way the lock
// stays held until the last of their programs has exited (the lanes
// inherit it), so a destroy that follows waits for them.
//
// Renders as:
//
//	(
//		STEP
//		...
//	) &
//	npte_lane1=$!
//	(
//		STEP
//		...
//	) &
//	npte_lane2=$!
//	npte_rc=0
//	wait "$npte_lane1" || npte_rc=1
//	wait "$npte_lane2" || npte_rc=1
//	test "$npte_rc" = 0 || exit 1
type Lanes struct {
	// Lanes are the step lists, run at the same time.
	Lanes [][]Step
}

// Describe implements Step.
func (s Lanes) Describe() string {
	n := 0
	for _, l := range s.Lanes {
		n += len(l)
	}
	return "the namespaces' own work in " + strconv.Itoa(len(s.Lanes)) + " lanes at once (" + strconv.Itoa(n) + " steps)"
}

func (Lanes) isStep() {}
