# prewarm: build, test and run targets. Needs only Go and make; cfn-lint is used when installed.

GO ?= go

# Everything built here goes under bin/ (git-ignored):
#   bin/linux_arm64/bootstrap  the Lambda bootstrap for provided.al2023 on arm64 (make build)
#   bin/host/bootstrap         the same program for this machine, run under the RIE (make invoke)
#   bin/aws-lambda-rie         the AWS Lambda Runtime Interface Emulator (make invoke)
#   bin/prewarmctl             the pipeline command, static, for this machine (make prewarmctl;
#                              GOOS=linux GOARCH=amd64 make prewarmctl for another)
PREWARMCTL     := bin/prewarmctl
BOOTSTRAP      := bin/linux_arm64/bootstrap
HOST_BOOTSTRAP := bin/host/bootstrap
RIE            := bin/aws-lambda-rie
RIE_MODULE     := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION    := v0.0.0-20261030222936-bef5c4ba774d

# How Lambda binaries are built: static, reproducible, without the RPC mode of aws-lambda-go
# (provided.al2023 speaks the Runtime API only), stripped.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags='-s -w -buildid='

# make invoke EVENT=events/<file>.json
EVENT ?= events/alias-switch.json
# make fuzz FUZZTIME=1m
FUZZTIME ?= 30s
# make chaos CHAOS_INTENTS=100000
CHAOS_INTENTS ?= 10000
# The packages that have a TestChaos (make chaos runs only those).
CHAOS_PKGS := $(patsubst %/,%,$(sort $(dir $(shell grep -rl --include='*_test.go' '^func TestChaos' .))))

# The race detector needs cgo (a C compiler); without one the tests run without it.
RACE := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && echo -race)

.PHONY: all build build-PrewarmFunction build-CodeDeployHookFunction prewarmctl test demo emulator invoke bench lint chaos fuzz clean

all: build

build: prewarmctl
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(BOOTSTRAP) ./cmd/prewarm

# The pipeline command as one static binary to copy into a CI image.
prewarmctl:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w -buildid=' -o $(PREWARMCTL) ./cmd/prewarmctl

# sam build (Metadata: BuildMethod: makefile on PrewarmFunction) runs this with ARTIFACTS_DIR set.
build-PrewarmFunction:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set; sam build sets it))
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/prewarm

# The CodeDeploy hook function (CodeDeployHookFunction) runs the same bootstrap.
build-CodeDeployHookFunction:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set; sam build sets it))
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/prewarm

# Every test once. scripts/testrun prints what go test prints without -v, plus each chaos
# line (TestChaos, one per queue type) as it ends, plus what is still running after 30 s of
# silence; go test's summary is the last thing printed. TestChaos spends its time waiting out
# injected faults and redeliveries, not computing: its fifo queue type runs in a go test of its
# own, the other queue types in another, both beside everything else, so that make test takes
# about as long as TestChaos/fifo alone instead of all of handler's tests one after the other.
test:
	@echo "make test: go test $(RACE) ./... — about 2 minutes on 2 cores, most of it waiting on TestChaos (1,000 intents per queue type, 30-45 s each) beside the whole demo (cmd/demo, about 60 s); then localaws, deploy and rie (5-20 s each)"
	@GO=$(GO) $(GO) run ./scripts/testrun $(CHAOS_BESIDE) -- $(RACE) -skip '^TestChaos$$' ./...

CHAOS_BESIDE := $(if $(CHAOS_PKGS),\
	-also '$(RACE) -run ^TestChaos$$/^fifo$$ $(CHAOS_PKGS)' \
	-also '$(RACE) -run ^TestChaos$$ -skip ^TestChaos$$/^fifo$$ $(CHAOS_PKGS)')

demo:
	$(GO) run ./cmd/demo

emulator:
	$(GO) run ./cmd/localaws

# Runs the real bootstrap under the Runtime Interface Emulator against the local emulator.
invoke: $(RIE)
	CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -o $(HOST_BOOTSTRAP) ./cmd/prewarm
	$(GO) run ./cmd/invoke -event $(EVENT)

$(RIE):
	@echo "make: installing the Runtime Interface Emulator $(RIE_VERSION) into bin/ (go install; under a minute, once)"
	GOBIN=$(CURDIR)/bin $(GO) install $(RIE_MODULE)@$(RIE_VERSION)

bench:
	$(GO) run ./cmd/bench

# go vet, gofmt, staticcheck and golangci-lint (pinned in go.mod), cfn-lint when installed; the
# last line says whether all are clean.
lint:
	@GO=$(GO) sh scripts/lint.sh

# The chaos test at full size: PREWARM_CHAOS_INTENTS intents through the SQS path.
chaos:
	@echo "make chaos: TestChaos in $(CHAOS_PKGS) at $(CHAOS_INTENTS) intents per queue type, fifo then standard — about 2 minutes per 1000 intents on 2 cores (20 minutes at 10000), mostly waiting; one chaos line per queue type"
	PREWARM_CHAOS_INTENTS=$(CHAOS_INTENTS) $(GO) test -count=1 -timeout 60m -run '^TestChaos$$' -v $(CHAOS_PKGS)

# Every fuzz target, FUZZTIME each.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) sh scripts/fuzz.sh

clean:
	rm -rf bin .aws-sam bench/out
