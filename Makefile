# gitstellar — see README.md. `make help` lists the targets.

GO             ?= go
export GOTOOLCHAIN ?= local
VERSION        ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT         ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS        := -X github.com/gitstellar/gitstellar/pkg/version.Version=$(VERSION) \
                  -X github.com/gitstellar/gitstellar/pkg/version.Commit=$(COMMIT)
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
RBAC_DIR       := charts/gitstellar/files/rbac
CHARTS         := gitstellar gitstellar-agent
DEV_DIR        ?= .gitstellar/dev
EXAMPLE_REPO   ?= .gitstellar/example-repo
EXAMPLE        ?= examples/repo-layout
TEST_TIMEOUT   ?= 30m
BIN            := bin/gitstellar
# a count, not a duration: Go's fuzzer can report "context deadline exceeded" when a
# duration ends during a slow input (templates may run up to their time limit)
FUZZTIME       ?= 5000x
# package:target of every fuzz target run by `make fuzz` (their seeds run in every go test)
FUZZ_TARGETS   := pkg/source:FuzzTree pkg/render:FuzzDecode pkg/propagate:FuzzParsePath \
                  pkg/propagate:FuzzExpand pkg/printable:FuzzTerminal pkg/printable:FuzzMarkdown

.PHONY: help build binaries test fuzz e2e bench unit vet fmt-check generate verify-generated charts quickstart dev-up dev-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

build: ## build bin/gitstellar
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gitstellar

binaries: build ## find or build (once, from the Go module proxy) etcd, kube-apiserver, controllers, kwok, kubectl
	$(BIN) dev binaries etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl

test: binaries vet fmt-check verify-generated charts fuzz ## every test, integration and e2e on real apiservers included
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

fuzz: ## run each fuzz target of untrusted input for FUZZTIME (the seeds run in every go test)
	@log="$$(mktemp)"; trap 'rm -f "$$log"' EXIT; \
	for t in $(FUZZ_TARGETS); do pkg="$${t%%:*}"; name="$${t##*:}"; \
	  echo "go test -run '^$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) ./$$pkg"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "./$$pkg" >"$$log" 2>&1 || \
	  { tail -n 40 "$$log"; exit 1; }; \
	done

e2e: binaries ## the whole end-to-end suite, long variants included (logs of every process saved on failure)
	GITSTELLAR_E2E_FULL=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./e2e

bench: binaries ## gitstellar bench --objects 1000 --wecs 10: the table, bench.json and bench.svg
	$(BIN) bench --objects 1000 --wecs 10

unit: ## fast tests only (no apiserver)
	$(GO) test -short ./...

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail if a file is not gofmt'ed
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi

generate: ## regenerate deep-copy functions and CRDs from pkg/apis, and the controller's RBAC from pkg/*/rbac.go
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./pkg/apis/... \
		crd:crdVersions=v1 output:crd:dir=pkg/crds/manifests
	$(GO) run ./hack/crdpatch pkg/crds/manifests
	$(CONTROLLER_GEN) rbac:roleName=gitstellar paths=./pkg/... output:rbac:dir=$(RBAC_DIR)

verify-generated: ## fail if generated files are out of date
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	cp -r go.mod go.sum hack pkg "$$tmp"/ && \
	(cd "$$tmp" && $(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./pkg/apis/... \
		crd:crdVersions=v1 output:crd:dir=pkg/crds/manifests && \
		$(GO) run ./hack/crdpatch pkg/crds/manifests && \
		$(CONTROLLER_GEN) rbac:roleName=gitstellar paths=./pkg/... output:rbac:dir=$(RBAC_DIR)) && \
	diff -r pkg/apis "$$tmp/pkg/apis" && diff -r pkg/crds/manifests "$$tmp/pkg/crds/manifests" && \
	diff -r $(RBAC_DIR) "$$tmp/$(RBAC_DIR)" || \
	{ echo "generated files are out of date: run make generate"; exit 1; }

charts: build ## helm lint and helm template both charts, with their minimal and full values (charts/testdata)
	@helm="$$($(BIN) dev binaries helm)" || exit 1; \
	for chart in $(CHARTS); do for values in minimal full; do \
	  echo "helm lint --strict charts/$$chart -f charts/testdata/$$chart-$$values.yaml"; \
	  "$$helm" lint --strict --quiet charts/$$chart -f charts/testdata/$$chart-$$values.yaml || exit 1; \
	  echo "helm template charts/$$chart -f charts/testdata/$$chart-$$values.yaml"; \
	  "$$helm" template test charts/$$chart --namespace gitstellar -f charts/testdata/$$chart-$$values.yaml >/dev/null || exit 1; \
	done; done

quickstart: build ## start the spaces and WECs examples/repo-layout declares, sync it into them, show the result
	$(BIN) dev up --repo $(EXAMPLE) --state-dir $(DEV_DIR)
	@echo
	@# The example as a repository of its own: gitstellar follows it and
	@# commits the status to its gitstellar-status branch.
	@git init -q -b main $(EXAMPLE_REPO) && git -C $(EXAMPLE_REPO) rm -rq --ignore-unmatch . && \
	cp -R $(EXAMPLE)/. $(EXAMPLE_REPO)/ && git -C $(EXAMPLE_REPO) add -A && \
	{ git -C $(EXAMPLE_REPO) diff --cached --quiet || \
	  git -C $(EXAMPLE_REPO) -c user.name=gitstellar -c user.email=gitstellar@example.com commit -qm "$(EXAMPLE)"; }
	$(BIN) run --once --repo $(EXAMPLE_REPO) --name quickstart --kubeconfig $(DEV_DIR)/kubeconfig
	@echo
	@kubectl="$$(command -v kubectl || $(BIN) dev binaries kubectl)" && \
	echo "kubectl --context its1 get workloadclusters --show-labels" && \
	"$$kubectl" --kubeconfig $(DEV_DIR)/kubeconfig --context its1 get workloadclusters --show-labels && \
	for wds in wds1 wds2; do \
	  echo && echo "kubectl --context $$wds get bindingpolicies,bindings.control.kubestellar.io,deployments -A" && \
	  "$$kubectl" --kubeconfig $(DEV_DIR)/kubeconfig --context $$wds get bindingpolicies,bindings.control.kubestellar.io,deployments -A || exit 1; \
	done && \
	for wec in cluster1 cluster2; do \
	  echo && echo "kubectl --context $$wec wait --for=condition=Available deployments --all -A; kubectl --context $$wec get deployments -A" && \
	  "$$kubectl" --kubeconfig $(DEV_DIR)/kubeconfig --context $$wec wait --for=condition=Available deployments --all -A --timeout=120s >/dev/null && \
	  "$$kubectl" --kubeconfig $(DEV_DIR)/kubeconfig --context $$wec get deployments -A || exit 1; \
	done
	@echo && echo "gitstellar status --repo $(EXAMPLE_REPO)"
	@$(BIN) status --repo $(EXAMPLE_REPO)
	@echo
	@echo "Spaces and WECs are running. Try:  export KUBECONFIG=$(DEV_DIR)/kubeconfig; kubectl --context wds1 get bp"
	@echo "The status branch:                 git -C $(EXAMPLE_REPO) log --stat gitstellar-status"
	@echo "Stop them with:                    make dev-down"

dev-up: build ## start the spaces and WECs examples/repo-layout declares, only
	$(BIN) dev up --repo $(EXAMPLE) --state-dir $(DEV_DIR)

dev-down: build ## stop the local spaces and WECs and remove their state
	$(BIN) dev down --state-dir $(DEV_DIR)

clean: ## remove build output
	rm -rf bin
