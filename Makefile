# npte's build. `make test` is what CI runs (as root, via .ci/run).
# go and gofmt are found even when PATH lacks Go's directory, as under
# `sudo make test` (sudo's secure_path has no /usr/local/go/bin): go on
# PATH, else Go's standard install place; gofmt is the one of that go.
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOFMT   ?= $(shell $(GO) env GOROOT 2>/dev/null || echo /usr/local/go)/bin/gofmt
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build test test-kernel golden lint install demo bench man fuzz clean

# What the binary and its man page are made from.
SOURCES := $(shell git ls-files '*.go' go.mod go.sum 2>/dev/null || find . -name '*.go' -o -name go.mod -o -name go.sum)

all: build man

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o npte .

# The files install copies: rebuilt only when a source changed, so that
# `make && sudo make install` does not build again as root.
npte: $(SOURCES)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o npte .

npte.8: $(SOURCES)
	$(GO) run ./internal/mangen > npte.8.tmp && mv npte.8.tmp npte.8

# Unit, golden, fidelity, fuzz seed corpora, (as root) sandboxed live tests,
# and the kernel suite (./kerneltest: user-mode Linux kernels, no root
# needed). Verbose, so that the figures the live tests measure (throughput,
# kill points, hostile values, concurrent runs, delay/loss/rate errors) are
# in the log. The kernel suite runs last, on its own: its throughput
# checks measure a user-mode Linux guest, which the other packages' live
# tests would otherwise slow down on a small machine.
test: lint
	$(GO) test -count=1 -timeout 40m -v $$($(GO) list ./... | grep -v '/kerneltest$$')
	$(GO) test -count=1 -timeout 20m -v ./kerneltest/

# The kernel suite alone: npte's shaping measured on a real Linux 6.1
# (Debian's user-mode-linux) with every qdisc, and on kernels without IPv6
# and without sch_cake. Skips with one loud line without linux.uml.
test-kernel:
	$(GO) test -count=1 -timeout 20m -v ./kerneltest/

# Regenerate every golden dry-run script (the files of cli/testdata/*.txtar,
# testscript archives); review the diff.
golden:
	$(GO) test ./cli -run '^TestGolden$$' -count=1 -update

# Fails when gofmt is missing or fails: a missing gofmt is not "formatted".
lint:
	@if ! [ -x "$(GOFMT)" ]; then echo "make lint: gofmt not found at $(GOFMT); install Go (https://go.dev/doc/install) or set GOFMT=/path/to/gofmt" >&2; exit 1; fi
	@out=$$("$(GOFMT)" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')) || { echo "make lint: gofmt failed" >&2; exit 1; }; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The binary (where a sudoers rule can name it safely) and its man page.
install: npte npte.8
	install -D -o root -g root -m 0555 npte $(DESTDIR)$(PREFIX)/sbin/npte
	install -D -o root -g root -m 0644 npte.8 $(DESTDIR)$(PREFIX)/share/man/man8/npte.8

# Whole-process benchmarks in a private sandbox (root); prints a table.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./netns ./shell ./render ./bench
	./bench/run.sh ./npte

# The man page, generated from the kong model.
man: npte.8

demo: build
	./npte lab create --dry-run

clean:
	rm -f npte npte.8 npte.8.tmp
