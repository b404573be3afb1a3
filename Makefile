# Zaitaku — see README.md. `make demo` runs the product, `make test` tests it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
export ARTIFACTS_DIR ?= $(CURDIR)/artifacts

# Debian 12 packages the build and the end-to-end tests use (see DESIGN.md).
DEB_PACKAGES := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
  libxinerama-dev libxi-dev libxxf86vm-dev libxkbcommon-dev libwayland-dev \
  xvfb xauth imagemagick fonts-noto-cjk x11-utils dbus dbus-x11 gnome-keyring \
  freerdp2-shadow-x11 freerdp2-x11 openssl openssh-server openssh-client iperf3 \
  postgresql slapd ldap-utils minisign procps iproute2 coreutils xdotool fontconfig \
  gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 msitools wixl systemd desktop-file-utils xz-utils \
  dpkg-dev adduser util-linux sqlite3
# postgresql: the PostgreSQL store's end-to-end tests start their own server
# (pg_trgm is part of Debian 12's postgresql-15; no -contrib package).
# The meeting and admin console end-to-end tests drive Debian's chromium (never a downloaded browser).
DEB_PACKAGES += chromium
# Node.js runs Redocly's CLI, which lints the served OpenAPI document.
DEB_PACKAGES += nodejs
REDOCLY_VERSION := 2.77.0

# Packages with cgo-free code that must also build for Windows and macOS.
CROSS_PKGS := ./broker/... ./app/core/... ./app/chat/... ./app/oplog/... ./app/instance/... ./app/launcher/... ./app/update/... ./platform/...
# Packages with shared state, tested under the race detector.
RACE_PKGS := ./broker/api/... ./broker/console/... ./broker/tunnel/... ./broker/slots/... ./broker/relay/... ./broker/wake/... ./broker/oplog/... ./broker/events/... ./app/oplog/... ./app/core/... ./app/chat/...

.PHONY: deps test test-fast test-e2e check bench demo broker app release clean

deps: ## install what a fresh Debian machine lacks
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "slapd slapd/no_configuration boolean true" | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi
	@$(GO) mod download
	@test -x .cache/redocly/node_modules/.bin/redocly && grep -q '"version": "$(REDOCLY_VERSION)"' .cache/redocly/node_modules/@redocly/cli/package.json \
	  || { echo "installing @redocly/cli@$(REDOCLY_VERSION) into .cache/redocly"; \
	       npm install --prefix .cache/redocly --no-audit --no-fund --loglevel=error @redocly/cli@$(REDOCLY_VERSION) >/dev/null; }

check: ## static checks: formatting, vet, dependency rules, cross-compiles
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@bad=$$($(GO) list -deps ./broker/... | grep -E '^fyne\.io/|zaitaku/app(/|$$)|zaitaku/platform(/|$$)' || true); \
	  if [ -n "$$bad" ]; then echo "broker/ imports what it must not: $$bad"; exit 1; fi
	@bad=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./broker/api | grep -vE '^(github.com/zaitaku/zaitaku/broker/(api|tunnel)$$|github.com/coder/websocket)' || true); \
	  if [ -n "$$bad" ]; then echo "broker/api imports more than the standard library, websocket and broker/tunnel: $$bad"; exit 1; fi
	@bad=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./broker/tunnel | grep -vE '^github.com/zaitaku/zaitaku/broker/tunnel$$' || true); \
	  if [ -n "$$bad" ]; then echo "broker/tunnel must use the standard library only (its cryptography is crypto/tls): $$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{.ImportPath}}: {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./broker/api ./broker/relay ./broker/tunnel | grep -E '(^| )crypto/cipher( |$$)' || true); \
	  if [ -n "$$bad" ]; then echo "the tunnel is standard TLS; no package of it seals bytes itself: $$bad"; exit 1; fi
	@bad=$$($(GO) list -deps ./broker/server | grep -E 'zaitaku/broker/store/' || true); \
	  if [ -n "$$bad" ]; then echo "broker/server imports a store engine (take the domains as interfaces): $$bad"; exit 1; fi
	@bad=$$(grep -nE '\b(auth|oplog|relay|events|slots|terminal|services|release|chat|telework|meet|report|console)\.(New|Build)[A-Za-z]*\(' $$(ls broker/server/*.go | grep -v _test.go) || true); \
	  if [ -n "$$bad" ]; then echo "broker/server constructs a domain (broker/services does): $$bad"; exit 1; fi
	@missing=$$(for d in $$($(GO) list -f '{{.Dir}}' ./app/... ./broker/... ./platform/... | sed "s|^$(CURDIR)/||"); do \
	  grep -q "\`$$d/\?\`" docs/ARCHITECTURE.md || echo $$d; done); \
	  if [ -n "$$missing" ]; then echo "docs/ARCHITECTURE.md does not name these packages: $$missing"; exit 1; fi
	@bad=$$($(GO) list -deps ./app/chat | grep -E '^fyne.io/|zaitaku/app/(ui|tray|oplog)$$' || true); \
	  if [ -n "$$bad" ]; then echo "app/chat is client logic without a face: $$bad"; exit 1; fi
	@bad=$$(grep -nE '\bos\.(Create|WriteFile|OpenFile|Mkdir)|\bioutil\.' $$(ls app/chat/*.go | grep -v _test.go) || true); \
	  if [ -n "$$bad" ]; then echo "app/chat writes to disk (LGWAN: nothing of chat on the laptop): $$bad"; exit 1; fi
	CGO_ENABLED=0 $(GO) build -o /dev/null ./broker/cmd/broker
	$(GO) vet ./broker/... ./app/core/... ./app/chat/... ./app/oplog/... ./app/update/... ./platform/...
	GOOS=windows CGO_ENABLED=0 $(GO) vet $(CROSS_PKGS)
	GOOS=darwin CGO_ENABLED=0 $(GO) vet $(CROSS_PKGS)

test-fast:
	$(GO) test -json -skip '^TestE2E' -timeout 20m ./... | $(GO) run ./.ci/testreport
	$(GO) test -race -skip '^TestE2E' -timeout 20m $$($(GO) list $(RACE_PKGS) 2>/dev/null)

test-e2e:
	$(GO) test -json -p 1 -timeout 30m -run '^TestE2E' ./... | $(GO) run ./.ci/testreport

test: deps check test-fast test-e2e ## everything CI runs
	@echo "make test: all phases passed"

bench: deps ## performance figures, one BENCH line each (see DESIGN.md)
	@mkdir -p $(ARTIFACTS_DIR); [ "$$(id -u)" != 0 ] || mkdir -p /run/sshd  # the ssh baseline's private sshd needs it
	@# Build every test binary first, in parallel; then run one package's
	@# benchmarks at a time (-p 1): two packages measuring at once on two
	@# cores each saw the other's load (oplog ingest 61k rows/s beside the
	@# slots benchmark, 108k alone).
	@$(GO) test -run '^$$' -count=1 ./... >/dev/null
	@$(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -timeout 60m ./... 2>&1 | tee $(ARTIFACTS_DIR)/bench.log | grep -E '^(BENCH|FAIL|panic|---)' || true
	@grep '^BENCH' $(ARTIFACTS_DIR)/bench.log > $(ARTIFACTS_DIR)/bench.txt || true
	@echo "all figures: $(ARTIFACTS_DIR)/bench.txt"

broker:
	@mkdir -p bin; CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/broker ./broker/cmd/broker

app:
	@mkdir -p bin; $(GO) build -trimpath -ldflags '-s -w' -o bin/zaitaku .

# The release artifacts into dist/ (packaging/release.sh; packaging/README.md):
# the app for Linux and Windows, the broker for Linux amd64 and arm64, the
# tarball, the MSI, the .debs, SHA256SUMS and minisign signatures made with
# the key at ZAITAKU_SIGNING_KEY (ZAITAKU_UNSIGNED=1 for a try-out); the
# apps trust the update root keys in ZAITAKU_UPDATE_ROOTS.
release:
	@VERSION=$(VERSION) bash packaging/release.sh

demo: deps broker app ## broker with demo data + the desktop app, on embedded SQLite
	@bash packaging/demo.sh

clean:
	rm -rf bin artifacts zaitaku-data dist
