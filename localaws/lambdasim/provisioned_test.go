package lambdasim_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

// pcState is the comparable part of a Put/Get response.
type pcState struct {
	Requested, Allocated, Available int32
	Status                          types.ProvisionedConcurrencyStatusEnum
	StatusReason, LastModified      string
}

func stateOf(o *lambdasvc.GetProvisionedConcurrencyConfigOutput) pcState {
	return pcState{
		Requested: aws.ToInt32(o.RequestedProvisionedConcurrentExecutions),
		Allocated: aws.ToInt32(o.AllocatedProvisionedConcurrentExecutions),
		Available: aws.ToInt32(o.AvailableProvisionedConcurrentExecutions),
		Status:    o.Status, StatusReason: aws.ToString(o.StatusReason), LastModified: aws.ToString(o.LastModified),
	}
}

func mustGet(ctx context.Context, t *testing.T, c *lambdasvc.Client, fn, q string) pcState {
	t.Helper()
	o, err := getPC(ctx, c, fn, q)
	if err != nil {
		t.Fatalf("get %s:%s: %v", fn, q, err)
	}
	return stateOf(o)
}

func TestPutFollowsStateMachineToReady(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)

	out, err := f.client.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("my-function"), Qualifier: aws.String("BLUE"), ProvisionedConcurrentExecutions: aws.Int32(40),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := pcState{
		Requested: aws.ToInt32(out.RequestedProvisionedConcurrentExecutions),
		Allocated: aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions),
		Available: aws.ToInt32(out.AvailableProvisionedConcurrentExecutions),
		Status:    out.Status, StatusReason: aws.ToString(out.StatusReason), LastModified: aws.ToString(out.LastModified),
	}
	inProgress := pcState{Requested: 40, Status: types.ProvisionedConcurrencyStatusEnumInProgress, LastModified: "2019-11-21T19:32:12+0000"}
	if diff := cmp.Diff(inProgress, got); diff != "" {
		t.Errorf("put response (-want +got):\n%s", diff)
	}

	f.clock.Advance(readyAfter - time.Second)
	if diff := cmp.Diff(inProgress, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("just before ReadyAfter (-want +got):\n%s", diff)
	}

	f.clock.Advance(time.Second)
	ready := pcState{Requested: 40, Allocated: 40, Available: 40, Status: types.ProvisionedConcurrencyStatusEnumReady, LastModified: "2019-11-21T19:32:12+0000"}
	if diff := cmp.Diff(ready, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("after ReadyAfter (-want +got):\n%s", diff)
	}

	// A second Put restarts the allocation and answers IN_PROGRESS with
	// nothing allocated.
	f.clock.Advance(time.Minute)
	mustPut(ctx, t, f.client, "my-function", "BLUE", 60)
	want := pcState{Requested: 60, Status: types.ProvisionedConcurrencyStatusEnumInProgress, LastModified: "2019-11-21T19:36:12+0000"}
	if diff := cmp.Diff(want, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("after second put (-want +got):\n%s", diff)
	}

	snap, ok := f.svc.Config("my-function", "BLUE")
	if !ok || snap.Version != "1" || snap.Requested != 60 || snap.Status != lambdasim.StatusInProgress {
		t.Errorf("Config snapshot: got %+v, %v", snap, ok)
	}

	if err := deletePC(ctx, f.client, "my-function", "BLUE"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := getPC(ctx, f.client, "my-function", "BLUE"); !isType[*types.ProvisionedConcurrencyConfigNotFoundException](err) {
		t.Errorf("get after delete: got %v, want ProvisionedConcurrencyConfigNotFoundException", err)
	}
	// Deleting what is not configured succeeds.
	if err := deletePC(ctx, f.client, "my-function", "BLUE"); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestInitFailureEndsFailed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	mustPut(ctx, t, f.client, "broken-function", "GREEN", 5)
	mustPut(ctx, t, f.client, "broken-function", "BLUE", 5)
	f.clock.Advance(readyAfter)

	got := mustGet(ctx, t, f.client, "broken-function", "GREEN")
	want := pcState{Requested: 5, Status: types.ProvisionedConcurrencyStatusEnumFailed, StatusReason: "FUNCTION_ERROR_INIT_FAILURE", LastModified: "2019-11-21T19:32:12+0000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GREEN (version 2 fails) (-want +got):\n%s", diff)
	}
	if got := mustGet(ctx, t, f.client, "broken-function", "BLUE"); got.Status != types.ProvisionedConcurrencyStatusEnumReady {
		t.Errorf("BLUE (version 1): got %s, want READY", got.Status)
	}
}

func TestUpdateAliasMovesProvisionedConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *lambdasim.Config) { c.AliasWeightsWindow = 30 * time.Second })
	mustPut(ctx, t, f.client, "my-function", "BLUE", 20)
	f.clock.Advance(readyAfter)

	alias, err := f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("BLUE")})
	if err != nil {
		t.Fatal(err)
	}
	upd, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"), FunctionVersion: aws.String("3"), RevisionId: alias.RevisionId,
	})
	if err != nil {
		t.Fatalf("update alias: %v", err)
	}
	if got, want := aws.ToString(upd.AliasArn), "arn:aws:lambda:us-west-2:123456789012:function:my-function:BLUE"; got != want {
		t.Errorf("AliasArn: got %q, want %q", got, want)
	}
	if aws.ToString(upd.RevisionId) == aws.ToString(alias.RevisionId) {
		t.Errorf("RevisionId did not change: %q", aws.ToString(upd.RevisionId))
	}
	// AWS: the UpdateAlias answer carries no RoutingConfig, though GetAlias
	// shows the transient weights of the move.
	if upd.RoutingConfig != nil {
		t.Errorf("UpdateAlias answer: RoutingConfig %v, want none as AWS answers", upd.RoutingConfig.AdditionalVersionWeights)
	}
	during, err := f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("BLUE")})
	if err != nil {
		t.Fatal(err)
	}
	if during.RoutingConfig == nil || !cmp.Equal(map[string]float64{"1": 0.5}, during.RoutingConfig.AdditionalVersionWeights) {
		t.Errorf("GetAlias during the move: routing %+v, want the transient weights {1: 0.5}", during.RoutingConfig)
	}
	// AWS: the PC moved with the alias and is IN_PROGRESS, with Allocated
	// and Available still at the old value while the new version is
	// provisioned.
	want := pcState{Requested: 20, Allocated: 20, Available: 20, Status: types.ProvisionedConcurrencyStatusEnumInProgress, LastModified: "2019-11-21T19:35:12+0000"}
	if diff := cmp.Diff(want, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("after the move (-want +got):\n%s", diff)
	}
	// While the weights show, PC writes on the alias fail.
	err = putPC(ctx, f.client, "my-function", "BLUE", 25)
	wantAPIError(t, err, 400, "InvalidParameterValueException", "Alias with weights can not be used with Provisioned Concurrency")
	// A stale RevisionId is refused.
	_, err = f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"), FunctionVersion: aws.String("2"), RevisionId: alias.RevisionId,
	})
	wantAPIError(t, err, 412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id")

	f.clock.Advance(30 * time.Second)
	got, err := f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("BLUE")})
	if err != nil {
		t.Fatal(err)
	}
	if got.RoutingConfig != nil {
		t.Errorf("weights after the window: got %v, want none", got.RoutingConfig.AdditionalVersionWeights)
	}
	if aws.ToString(got.FunctionVersion) != "3" {
		t.Errorf("FunctionVersion: got %q, want 3", aws.ToString(got.FunctionVersion))
	}
	// The old version runs on demand now and takes its own PC; the new one
	// is held by the alias.
	mustPut(ctx, t, f.client, "my-function", "1", 5)
	err = putPC(ctx, f.client, "my-function", "3", 5)
	wantAPIError(t, err, 409, "ResourceConflictException", "Version is pointed by a Provisioned Concurrency alias")

	f.clock.Advance(readyAfter)
	if got := mustGet(ctx, t, f.client, "my-function", "BLUE"); got.Status != types.ProvisionedConcurrencyStatusEnumReady || got.Allocated != 20 {
		t.Errorf("after ReadyAfter: got %+v, want READY with 20", got)
	}
}

func TestUpdateAliasOntoProvisionedVersionConflicts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	mustPut(ctx, t, f.client, "my-function", "BLUE", 5)
	mustPut(ctx, t, f.client, "my-function", "GREEN", 5)
	_, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"), FunctionVersion: aws.String("2"),
	})
	wantAPIError(t, err, 409, "ResourceConflictException", "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
	_, err = f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"), FunctionVersion: aws.String("7"),
	})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-west-2:123456789012:function:my-function:7")
}

// AWS: routing weights can be added to an alias that holds provisioned
// concurrency (CodeDeploy's traffic shifting does), and the configuration
// keeps serving unchanged; what cannot be done while the weights are in place
// is managing that PC: Put and Delete on the alias are refused until
// UpdateAlias clears the routing.
func TestWeightsOnAliasWithProvisionedConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	mustPut(ctx, t, f.client, "my-function", "BLUE", 20)
	mustPut(ctx, t, f.client, "my-function", "2", 5) // the canary's share is served warm
	f.clock.Advance(readyAfter)
	ready := pcState{Requested: 20, Allocated: 20, Available: 20, Status: types.ProvisionedConcurrencyStatusEnumReady, LastModified: "2019-11-21T19:32:12+0000"}
	getAlias := func() *lambdasvc.GetAliasOutput {
		t.Helper()
		out, err := f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("BLUE")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := getAlias()

	weights := map[string]float64{"2": 0.1}
	upd, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"), RevisionId: before.RevisionId,
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: weights},
	})
	if err != nil {
		t.Fatalf("UpdateAlias with weights on an alias with provisioned concurrency: %v", err)
	}
	if aws.ToString(upd.FunctionVersion) != "1" || upd.RoutingConfig == nil || !cmp.Equal(weights, upd.RoutingConfig.AdditionalVersionWeights) {
		t.Errorf("UpdateAlias answer: version %s routing %+v, want 1 with %v", aws.ToString(upd.FunctionVersion), upd.RoutingConfig, weights)
	}
	if aws.ToString(upd.RevisionId) == aws.ToString(before.RevisionId) {
		t.Errorf("RevisionId did not change: %q", aws.ToString(upd.RevisionId))
	}
	// The weights stay (they are the caller's, not a move's), and the
	// configuration is untouched: still READY with everything allocated,
	// on the alias's version.
	f.clock.Advance(10 * time.Minute)
	got := getAlias()
	if aws.ToString(got.FunctionVersion) != "1" || got.RoutingConfig == nil || !cmp.Equal(weights, got.RoutingConfig.AdditionalVersionWeights) {
		t.Errorf("GetAlias: version %s routing %+v, want 1 with %v", aws.ToString(got.FunctionVersion), got.RoutingConfig, weights)
	}
	if diff := cmp.Diff(ready, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("BLUE with weights (-want +got):\n%s", diff)
	}
	if snap, ok := f.svc.Config("my-function", "BLUE"); !ok || snap.Version != "1" {
		t.Errorf("Config snapshot: got %+v, %v; want on version 1", snap, ok)
	}
	list, err := f.client.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("my-function")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, c := range list.ProvisionedConcurrencyConfigs {
		listed = append(listed, fmt.Sprintf("%s %d/%d %s", aws.ToString(c.FunctionArn), aws.ToInt32(c.AllocatedProvisionedConcurrentExecutions), aws.ToInt32(c.RequestedProvisionedConcurrentExecutions), c.Status))
	}
	wantListed := []string{
		"arn:aws:lambda:us-west-2:123456789012:function:my-function:2 5/5 READY",
		"arn:aws:lambda:us-west-2:123456789012:function:my-function:BLUE 20/20 READY",
	}
	if diff := cmp.Diff(wantListed, listed); diff != "" {
		t.Errorf("ListProvisionedConcurrencyConfigs (-want +got):\n%s", diff)
	}

	// Managing the alias's PC is refused while the weights are in place,
	// and the refused calls change nothing.
	const msg = "Alias with weights can not be used with Provisioned Concurrency"
	err = putPC(ctx, f.client, "my-function", "BLUE", 25)
	wantAPIError(t, err, 400, "InvalidParameterValueException", msg)
	if !isType[*types.InvalidParameterValueException](err) {
		t.Errorf("Put: got %T, want *types.InvalidParameterValueException", err)
	}
	err = deletePC(ctx, f.client, "my-function", "BLUE")
	wantAPIError(t, err, 400, "InvalidParameterValueException", msg)
	if !isType[*types.InvalidParameterValueException](err) {
		t.Errorf("Delete: got %T, want *types.InvalidParameterValueException", err)
	}
	if diff := cmp.Diff(ready, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("BLUE after the refused Put and Delete (-want +got):\n%s", diff)
	}

	// Clearing the routing (an empty map, as update-alias --routing-config
	// '{}' sends) makes the alias's PC manageable again.
	cleared, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("my-function"), Name: aws.String("BLUE"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
	})
	if err != nil {
		t.Fatalf("clear the weights: %v", err)
	}
	if cleared.RoutingConfig != nil && len(cleared.RoutingConfig.AdditionalVersionWeights) > 0 {
		t.Errorf("UpdateAlias answer after clearing: weights %v, want none", cleared.RoutingConfig.AdditionalVersionWeights)
	}
	if got := getAlias(); got.RoutingConfig != nil && len(got.RoutingConfig.AdditionalVersionWeights) > 0 {
		t.Errorf("GetAlias after clearing: weights %v, want none", got.RoutingConfig.AdditionalVersionWeights)
	}
	mustPut(ctx, t, f.client, "my-function", "BLUE", 25)
	want := pcState{Requested: 25, Status: types.ProvisionedConcurrencyStatusEnumInProgress, LastModified: "2019-11-21T19:45:12+0000"}
	if diff := cmp.Diff(want, mustGet(ctx, t, f.client, "my-function", "BLUE")); diff != "" {
		t.Errorf("BLUE after the Put (-want +got):\n%s", diff)
	}
	if err := deletePC(ctx, f.client, "my-function", "BLUE"); err != nil {
		t.Errorf("Delete without weights: %v", err)
	}
}

func TestWeightsWindowDefaultsToHalfReadyAfter(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.svc.PutProvisionedConcurrency("my-function", "BLUE", 3); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UpdateAlias("my-function", "BLUE", "2"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(readyAfter/2 - time.Second)
	if _, w, _ := f.svc.Alias("my-function", "BLUE"); len(w) == 0 {
		t.Errorf("weights gone before ReadyAfter/2")
	}
	f.clock.Advance(time.Second)
	if v, w, _ := f.svc.Alias("my-function", "BLUE"); len(w) != 0 || v != "2" {
		t.Errorf("after ReadyAfter/2: got version %s weights %v, want 2 and none", v, w)
	}
}

func TestAccountMath(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	unreserved := func() int32 {
		t.Helper()
		out, err := f.client.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.AccountLimit.ConcurrentExecutions; got != 1000 {
			t.Errorf("ConcurrentExecutions: got %d, want 1000", got)
		}
		if got := out.AccountUsage.FunctionCount; got != 3 {
			t.Errorf("FunctionCount: got %d, want 3", got)
		}
		return aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions)
	}
	steps := []struct {
		name string
		do   func() error
		want int32
	}{
		{"start: 1000 - 50 reserved", func() error { return nil }, 950},
		{"PC within a reservation does not count", func() error { return putPC(ctx, f.client, "orders-worker", "live", 40) }, 950},
		{"PC without a reservation counts", func() error { return putPC(ctx, f.client, "my-function", "BLUE", 100) }, 850},
		{"replacing counts the difference", func() error { return putPC(ctx, f.client, "my-function", "BLUE", 750) }, 200},
		{"a second qualifier adds", func() error { return putPC(ctx, f.client, "my-function", "GREEN", 100) }, 100},
		{"lowering frees", func() error { return putPC(ctx, f.client, "my-function", "BLUE", 700) }, 150},
		{"reserving takes the reservation instead of the PC", func() error {
			_, err := f.client.PutFunctionConcurrency(ctx, &lambdasvc.PutFunctionConcurrencyInput{FunctionName: aws.String("my-function"), ReservedConcurrentExecutions: aws.Int32(850)})
			return err
		}, 100},
		{"removing the reservation", func() error {
			_, err := f.client.DeleteFunctionConcurrency(ctx, &lambdasvc.DeleteFunctionConcurrencyInput{FunctionName: aws.String("my-function")})
			return err
		}, 150},
		{"deleting PC frees it", func() error { return deletePC(ctx, f.client, "my-function", "BLUE") }, 850},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := unreserved(); got != s.want {
			t.Errorf("%s: unreserved got %d, want %d", s.name, got, s.want)
		}
		if got := f.svc.UnreservedConcurrency(); int32(got) != s.want {
			t.Errorf("%s: UnreservedConcurrency() got %d, want %d", s.name, got, s.want)
		}
	}
}

func TestFunctionConcurrency(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	get := func(fn string) *int32 {
		t.Helper()
		out, err := f.client.GetFunctionConcurrency(ctx, &lambdasvc.GetFunctionConcurrencyInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ReservedConcurrentExecutions
	}
	if got := get("my-function"); got != nil {
		t.Errorf("my-function: got %d, want omitted", *got)
	}
	if got := get("orders-worker"); aws.ToInt32(got) != 50 {
		t.Errorf("orders-worker: got %v, want 50", got)
	}
	out, err := f.client.PutFunctionConcurrency(ctx, &lambdasvc.PutFunctionConcurrencyInput{FunctionName: aws.String("my-function"), ReservedConcurrentExecutions: aws.Int32(10)})
	if err != nil || aws.ToInt32(out.ReservedConcurrentExecutions) != 10 {
		t.Fatalf("put: got %v, %v", out, err)
	}
	if got := get("arn:aws:lambda:us-west-2:123456789012:function:my-function"); aws.ToInt32(got) != 10 {
		t.Errorf("by ARN: got %v, want 10", got)
	}
	if r := f.svc.ReservedConcurrency("my-function"); r == nil || *r != 10 {
		t.Errorf("ReservedConcurrency: got %v, want 10", r)
	}

	_, err = f.client.PutFunctionConcurrency(ctx, &lambdasvc.PutFunctionConcurrencyInput{FunctionName: aws.String("my-function"), ReservedConcurrentExecutions: aws.Int32(900)})
	wantAPIError(t, err, 400, "InvalidParameterValueException", "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	mustPut(ctx, t, f.client, "orders-worker", "live", 30)
	_, err = f.client.PutFunctionConcurrency(ctx, &lambdasvc.PutFunctionConcurrencyInput{FunctionName: aws.String("orders-worker"), ReservedConcurrentExecutions: aws.Int32(20)})
	wantAPIError(t, err, 400, "InvalidParameterValueException", "Specified ReservedConcurrentExecutions for function is less than function's provisioned concurrency [30].")
	_, err = f.client.GetFunctionConcurrency(ctx, &lambdasvc.GetFunctionConcurrencyInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-west-2:123456789012:function:nope")

	if err := f.svc.SetReservedConcurrency("my-function", nil); err != nil {
		t.Fatal(err)
	}
	if got := get("my-function"); got != nil {
		t.Errorf("after SetReservedConcurrency(nil): got %d", *got)
	}
}

func TestFunctionNameForms(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	mustPut(ctx, t, f.client, "arn:aws:lambda:us-west-2:123456789012:function:my-function", "BLUE", 7)
	for _, name := range []string{
		"my-function",
		"arn:aws:lambda:us-west-2:123456789012:function:my-function",
		"123456789012:function:my-function",
		"arn:aws:lambda:us-west-2:123456789012:function:my-function:BLUE",
		"my-function:BLUE",
	} {
		if got := mustGet(ctx, t, f.client, name, "BLUE"); got.Requested != 7 {
			t.Errorf("%s: got %+v, want 7 requested", name, got)
		}
	}
	// The qualifier may come only from the ARN.
	resp := rawRequest(t, "GET", f.url+"/2019-09-30/functions/"+"arn%3Aaws%3Alambda%3Aus-west-2%3A123456789012%3Afunction%3Amy-function%3ABLUE"+"/provisioned-concurrency", "", nil)
	if resp.StatusCode != 200 {
		t.Errorf("qualifier from ARN only: got %d, want 200", resp.StatusCode)
	}
	_, err := getPC(ctx, f.client, "my-function:GREEN", "BLUE")
	wantAPIError(t, err, 400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier.")
	_, err = getPC(ctx, f.client, "not a name!", "BLUE")
	wantAPIError(t, err, 400, "ValidationException", "1 validation error detected: Value 'not a name!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
}

func TestListProvisionedConcurrencyConfigsPaginates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *lambdasim.Config) {
		c.Functions[0].Versions = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	})
	for _, q := range []string{"GREEN", "BLUE", "10", "3", "4", "5"} {
		mustPut(ctx, t, f.client, "my-function", q, 2)
	}
	f.clock.Advance(readyAfter)
	var got []string
	pages := 0
	p := lambdasvc.NewListProvisionedConcurrencyConfigsPaginator(f.client, &lambdasvc.ListProvisionedConcurrencyConfigsInput{
		FunctionName: aws.String("my-function"), MaxItems: aws.Int32(4),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range out.ProvisionedConcurrencyConfigs {
			got = append(got, fmt.Sprintf("%s %s %d", aws.ToString(c.FunctionArn), c.Status, aws.ToInt32(c.AllocatedProvisionedConcurrentExecutions)))
		}
	}
	const arn = "arn:aws:lambda:us-west-2:123456789012:function:my-function:"
	want := []string{arn + "3 READY 2", arn + "4 READY 2", arn + "5 READY 2", arn + "10 READY 2", arn + "BLUE READY 2", arn + "GREEN READY 2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages: got %d, want 2", pages)
	}

	for _, n := range []int32{0, 51} {
		_, err := f.client.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("my-function"), MaxItems: aws.Int32(n)})
		bound := "greater than or equal to 1"
		if n > 1 {
			bound = "less than or equal to 50"
		}
		wantAPIError(t, err, 400, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value %s", n, bound))
	}

	out, err := f.client.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("orders-worker")})
	if err != nil || len(out.ProvisionedConcurrencyConfigs) != 0 || out.NextMarker != nil {
		t.Errorf("empty list: got %+v, %v", out, err)
	}
}

func TestAliasesAndFunctions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)

	var aliases []string
	p := lambdasvc.NewListAliasesPaginator(f.client, &lambdasvc.ListAliasesInput{FunctionName: aws.String("my-function"), MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Aliases {
			aliases = append(aliases, aws.ToString(a.Name)+"→"+aws.ToString(a.FunctionVersion))
		}
	}
	if diff := cmp.Diff([]string{"BLUE→1", "GREEN→2"}, aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	out, err := f.client.ListAliases(ctx, &lambdasvc.ListAliasesInput{FunctionName: aws.String("my-function"), FunctionVersion: aws.String("2")})
	if err != nil || len(out.Aliases) != 1 || aws.ToString(out.Aliases[0].Name) != "GREEN" {
		t.Errorf("aliases of version 2: got %+v, %v", out, err)
	}
	_, err = f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("PURPLE")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Cannot find alias arn: arn:aws:lambda:us-west-2:123456789012:function:my-function:PURPLE")

	var names []string
	fp := lambdasvc.NewListFunctionsPaginator(f.client, &lambdasvc.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, fn := range out.Functions {
			names = append(names, aws.ToString(fn.FunctionName)+":"+aws.ToString(fn.Version))
		}
	}
	if diff := cmp.Diff([]string{"broken-function:$LATEST", "my-function:$LATEST", "orders-worker:$LATEST"}, names); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	all, err := f.client.ListFunctions(ctx, &lambdasvc.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll, MaxItems: aws.Int32(50)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(all.Functions); got != 3+2+3+2 {
		t.Errorf("ListFunctions ALL: got %d entries, want 10", got)
	}

	gf, err := f.client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("orders-worker"), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(gf.Configuration.FunctionArn), "arn:aws:lambda:us-west-2:123456789012:function:orders-worker:live"; got != want {
		t.Errorf("FunctionArn: got %q, want %q", got, want)
	}
	if got := aws.ToString(gf.Configuration.Version); got != "2" {
		t.Errorf("Version: got %q, want 2", got)
	}
	if gf.Concurrency == nil || aws.ToInt32(gf.Concurrency.ReservedConcurrentExecutions) != 50 {
		t.Errorf("Concurrency: got %+v, want 50", gf.Concurrency)
	}
	_, err = f.client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-west-2:123456789012:function:nope")
}

func TestSeededProvisionedConcurrencyIsReady(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *lambdasim.Config) {
		c.Functions[0].ProvisionedConcurrency = map[string]int{"BLUE": 40}
	})
	if got := mustGet(ctx, t, f.client, "my-function", "BLUE"); got.Status != types.ProvisionedConcurrencyStatusEnumReady || got.Available != 40 {
		t.Errorf("seeded: got %+v, want READY 40", got)
	}
	if err := (lambdasim.Config{Functions: []lambdasim.Function{{Name: "f", Versions: []string{"1"}, ProvisionedConcurrency: map[string]int{"$LATEST": 1}}}}).Validate(); err == nil {
		t.Errorf("Validate accepted PC on $LATEST")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		fn   lambdasim.Function
	}{
		{"bad name", lambdasim.Function{Name: "a b"}},
		{"bad version", lambdasim.Function{Name: "f", Versions: []string{"v1"}}},
		{"alias to unknown version", lambdasim.Function{Name: "f", Versions: []string{"1"}, Aliases: map[string]string{"A": "2"}}},
		{"numeric alias", lambdasim.Function{Name: "f", Versions: []string{"1"}, Aliases: map[string]string{"12": "1"}}},
		{"reservation leaves too little", lambdasim.Function{Name: "f", ReservedConcurrency: intPtr(901)}},
		{"init failure of unknown version", lambdasim.Function{Name: "f", InitFailureVersions: []string{"1"}}},
	}
	for _, tt := range tests {
		if err := (lambdasim.Config{Functions: []lambdasim.Function{tt.fn}}).Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", tt.name, tt.fn)
		}
	}
	if err := testConfig(nil).Validate(); err != nil {
		t.Errorf("test config: %v", err)
	}
}

// TestConcurrentClients runs many clients at once; `go test -race` checks
// the locking.
func TestConcurrentClients(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(f.url)
			for j := range 10 {
				q := []string{"BLUE", "GREEN"}[(i+j)%2]
				_ = putPC(ctx, c, "my-function", q, int32(1+j))
				_, _ = getPC(ctx, c, "my-function", q)
				_, _ = c.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("my-function")})
				_, _ = c.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
				if j%5 == 0 {
					_ = f.svc.UpdateAlias("broken-function", "BLUE", []string{"1", "2"}[j%2])
					f.clock.Advance(time.Second)
				}
				_ = f.svc.Configs()
			}
		}()
	}
	wg.Wait()
	if got := len(f.svc.Configs()); got != 2 {
		t.Errorf("configs: got %d, want 2", got)
	}
}

// TestFunctionReadyAfter: a function's own readyAfter replaces the
// world's, as allocation times differ from function to function in AWS.
func TestFunctionReadyAfter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *lambdasim.Config) { c.Functions[0].ReadyAfter = "40s" })
	mustPut(ctx, t, f.client, "my-function", "GREEN", 5)
	mustPut(ctx, t, f.client, "orders-worker", "live", 5)
	f.clock.Advance(39 * time.Second)
	if got := mustGet(ctx, t, f.client, "my-function", "GREEN"); got.Status != types.ProvisionedConcurrencyStatusEnumInProgress {
		t.Errorf("my-function:GREEN after 39s = %s, want IN_PROGRESS", got.Status)
	}
	f.clock.Advance(time.Second)
	if got := mustGet(ctx, t, f.client, "my-function", "GREEN"); got.Status != types.ProvisionedConcurrencyStatusEnumReady {
		t.Errorf("my-function:GREEN after its 40s = %s, want READY", got.Status)
	}
	if got := mustGet(ctx, t, f.client, "orders-worker", "live"); got.Status != types.ProvisionedConcurrencyStatusEnumInProgress {
		t.Errorf("orders-worker:live after 40s = %s, want IN_PROGRESS until the world's %s", got.Status, readyAfter)
	}
}

func TestFunctionReadyAfterMustBeADuration(t *testing.T) {
	cfg := testConfig(clock.NewFake(start))
	cfg.Functions[0].ReadyAfter = "soon"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `readyAfter "soon"`) {
		t.Errorf("Validate = %v, want the bad readyAfter named", err)
	}
}
