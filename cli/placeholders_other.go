package cli

// Placeholders for verbs of later issues; each is replaced by its own file.

// NetemCmd groups the shaping verbs.
type NetemCmd struct{}

// LabCmd groups the lab verbs.
type LabCmd struct{}

// GatewayCmd groups the gateway verbs.
type GatewayCmd struct{}

// SudoersCmd is `npte sudoers`.
type SudoersCmd struct{}

// DoctorCmd is `npte doctor`.
type DoctorCmd struct{}

// TutorialCmd is `npte tutorial`.
type TutorialCmd struct{}

// CompletionCmd is `npte completion`.
type CompletionCmd struct{}
