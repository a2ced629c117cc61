package bench

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the CPU time (user + system, all threads) this process
// has used so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportCPU reports, as the metric "cpu-ns/op", the CPU time per
// iteration used since start (a CPUTime reading taken before the loop).
// Call it after the b.Loop loop. On a loaded machine ns/op also counts the
// time spent waiting for a CPU; cpu-ns/op does not, which makes it the
// figure to compare with a target.
func ReportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(CPUTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// LoopFresh runs f b.N times, each after a full garbage collection that is
// not timed, so that no collection runs while f does: what a short-lived
// npte process sees, whose heap stays below the first collection target
// (4 MB) from start to exit. In a plain benchmark loop, collections
// triggered by earlier iterations run concurrently with later ones and
// turn on write barriers; that is a cost of the loop, not of one npte run.
// Read ns/op: CPU time would include the background sweeping that follows
// each collection.
func LoopFresh(b *testing.B, f func()) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		f()
	}
}
