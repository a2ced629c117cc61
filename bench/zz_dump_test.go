package bench

import (
	"os"
	"testing"

	"github.com/npte/npte/plan"
	"github.com/npte/npte/render"
)

func TestZZDump(t *testing.T) {
	out := os.Getenv("DUMP")
	if out == "" {
		t.Skip()
	}
	var all string
	for _, p := range append(OpPlans(12), Chain(30), plan.NetnsDestroy("abc")) {
		s, err := render.Script(p, render.Options{Version: "x"})
		if err != nil {
			t.Fatal(err)
		}
		all += s
	}
	os.WriteFile(out, []byte(all), 0o644)
}
