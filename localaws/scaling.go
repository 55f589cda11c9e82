package localaws

import (
	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
)

// AutoScaling returns the emulated Application Auto Scaling of the world's account and
// Region, for in-process setup and assertions.
func (s *Server) AutoScaling() *autoscalingsim.Service { return s.home().autoScaling }

// CloudWatch returns the emulated CloudWatch of the world's account and Region; tests shape
// an alias's demand with its Put.
func (s *Server) CloudWatch() *cloudwatchsim.Service { return s.home().cloudWatch }

func (w World) autoScalingConfig(id, region string, clk clock.Clock) autoscalingsim.Config {
	return autoscalingsim.Config{AccountID: id, Region: region, Targets: w.ScalableTargets, Clock: clk}
}

func (w World) cloudWatchConfig(id, region string, clk clock.Clock) cloudwatchsim.Config {
	return cloudwatchsim.Config{AccountID: id, Region: region, Series: w.Metrics, Clock: clk}
}
