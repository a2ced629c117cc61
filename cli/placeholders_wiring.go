package cli

// Placeholders for the wiring verbs (issue 3); replaced by netns_wiring.go.

// NetnsConnectCmd is `npte netns connect`.
type NetnsConnectCmd struct{}

// NetnsAssignAddrCmd is `npte netns assign-addr`.
type NetnsAssignAddrCmd struct{}

// NetnsAddRouteCmd is `npte netns add-route`.
type NetnsAddRouteCmd struct{}

// NetnsRunCmd is `npte netns run`.
type NetnsRunCmd struct{}

// NetnsShowCmd is `npte netns show`.
type NetnsShowCmd struct{}
