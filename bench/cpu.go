package bench

import (
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
