package localaws

import (
	"strings"
	"testing"

	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
)

func TestWorldScalableTargetsAndMetrics(t *testing.T) {
	w, err := ParseWorld([]byte(`{"accountId":"123456789012","region":"us-east-1","readyAfter":"1s",
		"functions":[{"name":"f","versions":["1"],"aliases":{"BLUE":"1"}}],"queues":[],
		"scalableTargets":[{"function":"f","qualifier":"BLUE","min":2,"max":9,"policies":[{"name":"u","targetValue":0.7}],
			"scheduledActions":[{"name":"m","schedule":"cron(0 8 * * ? *)","min":4}]}],
		"metrics":[{"function":"f","qualifier":"BLUE","metric":"ConcurrentExecutions","values":[1,2,3]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.ScalableTargets) != 1 || w.ScalableTargets[0].Max != 9 || len(w.Metrics) != 1 || len(w.Metrics[0].Values) != 3 {
		t.Fatalf("parsed %+v %+v", w.ScalableTargets, w.Metrics)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"scalableTargets":[{"function":"f","qualifier":"BLUE","min":5,"max":2}]}`, "want 0 ≤ min ≤ max"},
		{`{"scalableTargets":[{"function":"f","min":1,"max":2}]}`, "must name an alias or version"},
		{`{"metrics":[{"function":"f","values":[1]}]}`, "metric is required"},
		{`{"metrics":[{"function":"f","metric":"M","valeus":[1]}]}`, "unknown field"},
	} {
		_, err := ParseWorld([]byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseWorld(%s) = %v, want %q", tt.body, err, tt.want)
		}
	}
}

func TestScalingServicesAreRegistered(t *testing.T) {
	s, err := New(DefaultWorld(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Service("application-autoscaling").(*autoscalingsim.Service); !ok {
		t.Errorf("Service(application-autoscaling) = %T", s.Service("application-autoscaling"))
	}
	if _, ok := s.Service("monitoring").(*cloudwatchsim.Service); !ok {
		t.Errorf("Service(monitoring) = %T", s.Service("monitoring"))
	}
}
