# npte's build. `make test` is what CI runs (as root, via .ci/run).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build test test-kernel golden lint install demo bench man fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o npte .

# Unit, golden, fidelity, fuzz seed corpora, (as root) sandboxed live tests,
# and the kernel suite (./kerneltest: user-mode Linux kernels, no root
# needed). Verbose, so that the figures the live tests measure (throughput,
# kill points, hostile values, concurrent runs, delay/loss/rate errors) are
# in the log.
test: lint
	$(GO) test -count=1 -timeout 40m -v ./...

# The kernel suite alone: npte's shaping measured on a real Linux 6.1
# (Debian's user-mode-linux) with every qdisc, and on kernels without IPv6
# and without sch_cake. Skips with one loud line without linux.uml.
test-kernel:
	$(GO) test -count=1 -timeout 20m -v ./kerneltest/

# Regenerate every golden dry-run script under testdata/golden; review the diff.
golden:
	$(GO) test ./cli -run '^TestGolden$$' -count=1 -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

install: build
	install -o root -g root -m 0555 npte $(PREFIX)/sbin/npte

# Whole-process benchmarks in a private sandbox (root); prints a table.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./plan ./render ./bench
	./bench/run.sh ./npte

# The man page, generated from the kong model.
man:
	$(GO) run ./internal/mangen > npte.8

demo: build
	./npte lab create --dry-run

clean:
	rm -f npte
