package localaws

import (
	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
)

// The world file's sections for Application Auto Scaling and CloudWatch. A test reaches the
// services themselves with Server.Service("application-autoscaling") and
// Server.Service("monitoring").

func (w World) autoScalingConfig(id, region string, clk clock.Clock) autoscalingsim.Config {
	return autoscalingsim.Config{AccountID: id, Region: region, Targets: w.ScalableTargets, Clock: clk}
}

func (w World) cloudWatchConfig(id, region string, clk clock.Clock) cloudwatchsim.Config {
	return cloudwatchsim.Config{AccountID: id, Region: region, Series: w.Metrics, Clock: clk}
}
