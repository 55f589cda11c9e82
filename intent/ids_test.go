package intent

import (
	"regexp"
	"strings"
	"testing"
)

// The patterns isDeploymentID and isJobID implement, as CodeDeploy and CodePipeline state them.
var (
	deploymentIDPattern = regexp.MustCompile(`^d-[A-Z0-9]{1,62}$`)
	jobIDPattern        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

var idSamples = []string{
	"", "d", "d-", "d-A", "d-a", "d-ABC123XYZ", "D-ABC123XYZ", "d-ABC123XYZ\n", "\nd-ABC", "d-ABC-1", "d-ABC 1",
	"d-" + strings.Repeat("A", 62), "d-" + strings.Repeat("9", 63), "d-\u00c9", "d-\xff",
	"6fdb9fa2-0e36-4d28-8b1f-9b9c4f2b1e01", "6FDB9FA2-0E36-4D28-8B1F-9B9C4F2B1E01", "6fdb9fa2-0e36-4d28-8b1f-9b9c4f2b1e0",
	"6fdb9fa2-0e36-4d28-8b1f-9b9c4f2b1e012", "6fdb9fa2x0e36-4d28-8b1f-9b9c4f2b1e01", "6fdb9fa20e36-4d28-8b1f-9b9c4f2b1e01-",
	"6fdb9fa2-0e36-4d28-8b1f-9b9c4f2b1e0g", "6fdb9fa2-0e36-4d28-8b1f-9b9c4f2b1e01\n", "------------------------------------",
}

func TestIDsMatchTheirPatterns(t *testing.T) {
	for _, s := range idSamples {
		if got, want := isDeploymentID(s), deploymentIDPattern.MatchString(s); got != want {
			t.Errorf("isDeploymentID(%q) = %v, pattern says %v", s, got, want)
		}
		if got, want := isJobID(s), jobIDPattern.MatchString(s); got != want {
			t.Errorf("isJobID(%q) = %v, pattern says %v", s, got, want)
		}
	}
}

func FuzzIDs(f *testing.F) {
	for _, s := range idSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDeploymentID(s), deploymentIDPattern.MatchString(s); got != want {
			t.Fatalf("isDeploymentID(%q) = %v, pattern says %v", s, got, want)
		}
		if got, want := isJobID(s), jobIDPattern.MatchString(s); got != want {
			t.Fatalf("isJobID(%q) = %v, pattern says %v", s, got, want)
		}
	})
}
