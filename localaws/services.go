package localaws

import (
	"fmt"
	"math"

	"golang.org/x/time/rate"

	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// Registration is one service as it plugs into the server: its API (an
// awsproto.Service, which names it and speaks its protocol) and the quota
// the server enforces on it.
type Registration struct {
	API awsproto.Service
	// Sim is the service's own value (*sqssim.Service, ...), which
	// Server.Service returns for Go-level inspection in tests.
	Sim any
	// Quota is the requests per second the service accepts per account and
	// Region, with a burst of the same size (wall time); requests over it
	// are answered with the service's throttling error. 0 means none.
	Quota float64
	// QuotaExempt lists operations outside the quota (Lambda's GetFunction
	// has its own).
	QuotaExempt []string
}

// Env is what the services of one account and Region are built from.
type Env struct {
	// World seeds the services: the world file for its own account and
	// Region, an empty World for any other.
	World World
	// AccountID and Region are those of the services being built.
	AccountID, Region string
	Clock             clock.Clock
	// Options are the server's options.
	Options Options
}

// services builds the emulated services of one account and Region and
// registers them, in the order they claim requests. Adding a service is
// one line here: build it from env (a World field it owns seeds it; see
// World) and register its API. The same function rebuilds everything on
// POST /_localaws/reset and builds each further account and Region the
// first time a request is signed for it.
func services(env Env, rg *region) error {
	autoScaling := autoscalingsim.New(env.World.autoScalingConfig(env.AccountID, env.Region, env.Clock))
	cloudWatch := cloudwatchsim.New(env.World.cloudWatchConfig(env.AccountID, env.Region, env.Clock))
	rg.register(Registration{API: autoScaling.API(), Sim: autoScaling})
	rg.register(Registration{API: cloudWatch.API(), Sim: cloudWatch})

	rg.lambda = lambdasim.New(env.World.lambdaConfig(env.AccountID, env.Region, env.Clock))
	rg.sqs = sqssim.New(env.World.sqsConfig(env.AccountID, env.Region, env.Clock))
	codeDeploy, err := codedeploysim.New(env.World.codeDeployConfig(env.AccountID, env.Region, env.Clock))
	if err != nil {
		return err
	}
	rg.codeDeploy = codeDeploy
	codePipeline, err := codepipelinesim.New(env.World.codePipelineConfig(env.AccountID, env.Region, env.Clock))
	if err != nil {
		return err
	}
	rg.codePipeline = codePipeline

	rg.register(Registration{API: rg.sqs.API(), Sim: rg.sqs})
	rg.register(Registration{API: rg.lambda.API(), Sim: rg.lambda, Quota: env.Options.controlPlaneRPS(), QuotaExempt: []string{"GetFunction", "Invoke"}})
	rg.register(Registration{API: rg.codeDeploy.API(), Sim: rg.codeDeploy})
	rg.register(Registration{API: rg.codePipeline.API(), Sim: rg.codePipeline})

	for i, build := range env.Options.Services {
		reg, err := build(env)
		if err != nil {
			return fmt.Errorf("service %d of Options.Services: %w", i, err)
		}
		rg.register(reg)
	}
	return nil
}

// ServiceBuilder builds a service for one account and Region; see
// Options.Services.
type ServiceBuilder func(Env) (Registration, error)

// region holds the services of one account and Region.
type region struct {
	accountID, name string
	lambda          *lambdasim.Service
	sqs             *sqssim.Service
	codeDeploy      *codedeploysim.Service
	codePipeline    *codepipelinesim.Service
	services        []*registered
}

type registered struct {
	Registration
	limiter *rate.Limiter // nil when the service has no quota
	exempt  map[string]bool
}

func (rg *region) register(reg Registration) {
	r := &registered{Registration: reg, exempt: map[string]bool{}}
	if reg.Quota > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(reg.Quota), max(1, int(math.Ceil(reg.Quota))))
	}
	for _, op := range reg.QuotaExempt {
		r.exempt[op] = true
	}
	rg.services = append(rg.services, r)
}

func newRegion(env Env) (*region, error) {
	rg := &region{accountID: env.AccountID, name: env.Region}
	if err := services(env, rg); err != nil {
		return nil, fmt.Errorf("services of account %s in %s: %w", env.AccountID, env.Region, err)
	}
	seen := map[string]bool{}
	for _, s := range rg.services {
		name := s.API.Name()
		if name == "" || seen[name] {
			return nil, fmt.Errorf("service name %q is empty or registered twice", name)
		}
		seen[name] = true
	}
	return rg, nil
}
