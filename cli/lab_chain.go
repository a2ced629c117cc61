package cli

import (
	"github.com/npte/npte/bench"
)

// LabChainCmd is the hidden `npte lab chain N`: the benchmark's subject
// (make bench), a chain ns1 - ns2 - ... - nsN built (or, with --destroy,
// torn down) as one plan under one lock, batched unless --no-batch. It
// stands in for `npte lab apply` of a chain file until that exists.
type LabChainCmd struct {
	DryRun
	NoBatch
	Destroy bool `name:"destroy" help:"Destroy the chain instead of creating it."`
	N       int  `arg:"" name:"n" help:"Number of namespaces (2..1000)."`
}

// Run implements the verb.
func (c *LabChainCmd) Run(app *App) error {
	if c.N < 2 || c.N > 1000 {
		return Usagef("lab chain: %d: the chain length must be 2..1000", c.N)
	}
	p := bench.Chain(c.N)
	if c.Destroy {
		p = bench.ChainDestroy(c.N)
	}
	return app.Apply(c.Batched(p), c.DryRun.DryRun)
}
