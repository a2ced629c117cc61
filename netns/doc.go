// Package netns builds the plans of the `npte netns` verbs (create,
// destroy, connect, assign-addr, add-route, run) and the namespace steps
// that lab and gateway reuse: pure functions from validated arguments to
// a plan.Plan, with no I/O and no globals. It also builds the removal of
// a gateway's host state, which netns destroy and lab destroy share with
// gateway destroy.
package netns
