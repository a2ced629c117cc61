package validate

import (
	"errors"
	"net/netip"
	"strings"
)

// The types below are validated values: each UnmarshalText checks its
// input with the validator of the same rule and refuses it with that
// validator's *Error, so that a command-line parser that decodes text
// (kong does, for every encoding.TextUnmarshaler) can hand a verb only
// values that passed. Their zero values are "not given".

// Netns is a namespace name that passed NetnsName.
type Netns string

// UnmarshalText implements encoding.TextUnmarshaler with NetnsName.
func (n *Netns) UnmarshalText(b []byte) error {
	if err := NetnsName(string(b)); err != nil {
		return err
	}
	*n = Netns(b)
	return nil
}

// Iface is an interface name that passed IfaceName.
type Iface string

// UnmarshalText implements encoding.TextUnmarshaler with IfaceName.
func (i *Iface) UnmarshalText(b []byte) error {
	if err := IfaceName(string(b)); err != nil {
		return err
	}
	*i = Iface(b)
	return nil
}

// Addr is an IP address that passed IPAddr.
type Addr struct{ netip.Addr }

// UnmarshalText implements encoding.TextUnmarshaler with IPAddr.
func (a *Addr) UnmarshalText(b []byte) error {
	v, err := IPAddr(string(b))
	if err != nil {
		return err
	}
	a.Addr = v
	return nil
}

// IfaceAddr is an interface address with a prefix length (host bits
// allowed) that passed CIDR.
type IfaceAddr struct{ netip.Prefix }

// UnmarshalText implements encoding.TextUnmarshaler with CIDR.
func (c *IfaceAddr) UnmarshalText(b []byte) error {
	v, err := CIDR(string(b))
	if err != nil {
		return err
	}
	c.Prefix = v
	return nil
}

// Net is a network prefix without host bits that passed Subnet.
type Net struct{ netip.Prefix }

// UnmarshalText implements encoding.TextUnmarshaler with Subnet.
func (n *Net) UnmarshalText(b []byte) error {
	v, err := Subnet(string(b))
	if err != nil {
		return err
	}
	n.Prefix = v
	return nil
}

// RouteDest is the destination of a route: the word "default" or a
// network that passed Subnet.
type RouteDest struct {
	// Prefix is the network; not valid for "default".
	Prefix netip.Prefix
}

// UnmarshalText implements encoding.TextUnmarshaler: "default", or Subnet.
func (d *RouteDest) UnmarshalText(b []byte) error {
	if string(b) == "default" {
		*d = RouteDest{}
		return nil
	}
	v, err := Subnet(string(b))
	if err != nil {
		return err
	}
	d.Prefix = v
	return nil
}

// String returns "default" or the network.
func (d RouteDest) String() string {
	if !d.Prefix.IsValid() {
		return "default"
	}
	return d.Prefix.String()
}

// User is a login name that passed Username.
type User string

// UnmarshalText implements encoding.TextUnmarshaler with Username.
func (u *User) UnmarshalText(b []byte) error {
	if err := Username(string(b)); err != nil {
		return err
	}
	*u = User(b)
	return nil
}

// Assignment is a KEY=VALUE pair that passed EnvAssignment.
type Assignment string

// UnmarshalText implements encoding.TextUnmarshaler with EnvAssignment.
func (a *Assignment) UnmarshalText(b []byte) error {
	if _, _, err := EnvAssignment(string(b)); err != nil {
		return err
	}
	*a = Assignment(b)
	return nil
}

// Program is the path of a program that passed SudoersPath.
type Program string

// UnmarshalText implements encoding.TextUnmarshaler with SudoersPath.
func (p *Program) UnmarshalText(b []byte) error {
	if err := SudoersPath(string(b)); err != nil {
		return err
	}
	*p = Program(b)
	return nil
}

// LabTarget is a lab named either by its file (any text with a / or a
// ., e.g. ./lab.yaml) or by its name (a namespace name).
type LabTarget string

// UnmarshalText implements encoding.TextUnmarshaler: a file is taken as
// it is (the lab verbs read it, as the caller under sudo); a name must
// pass NetnsName, with the rule naming the other form.
func (t *LabTarget) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.ContainsAny(s, "/.") {
		if err := NetnsName(s); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				return err
			}
			return &Error{Kind: "lab name", Value: e.Value, Rule: e.Rule + " (or give a lab file, with a / or a .)"}
		}
	}
	*t = LabTarget(s)
	return nil
}

// IsFile reports whether t names a lab file rather than a lab.
func (t LabTarget) IsFile() bool { return strings.ContainsAny(string(t), "/.") }

// LabName is the name of an applied lab: a namespace name.
type LabName string

// UnmarshalText implements encoding.TextUnmarshaler with NetnsName,
// calling the value a lab name.
func (n *LabName) UnmarshalText(b []byte) error {
	if err := NetnsName(string(b)); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return err
		}
		return &Error{Kind: "lab name", Value: e.Value, Rule: e.Rule}
	}
	*n = LabName(b)
	return nil
}
