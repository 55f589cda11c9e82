package handler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// reconcile is the scheduled pass: it lists the provisioned concurrency of
// every allowed function, reports FAILED configurations, brings values that
// drifted outside policy back within it, and resumes tracking of
// configurations still IN_PROGRESS.
func (h *Handler) reconcile(ctx context.Context, inv *invocation, r *record) ([]pending, []*tracking) {
	base := intent.Intent{ID: r.msg.ID, Trigger: intent.TriggerSchedule, Wait: true}
	if base.ID == "" {
		base.ID = r.id
	}
	functions, err := h.reconcileTargets(ctx, inv)
	if err != nil {
		r.fail("reconcile: list functions: %v", err)
		return nil, nil
	}
	var mu sync.Mutex
	var out []pending
	var ts []*tracking
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, fn := range functions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ms, tr, err := h.reconcileFunction(ctx, inv, base, fn)
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				out = append(out, pending{r, m})
			}
			for _, t := range tr {
				t.rec = r
				ts = append(ts, t)
			}
			if err != nil {
				r.fail("reconcile %s: %v", fn, err)
			}
		}()
	}
	wg.Wait()
	return out, ts
}

// reconcileTargets expands ALLOWED_FUNCTIONS: names as they are, ARNs by
// name when they are in prewarm's own account and Region (so that a
// function listed both ways is reconciled once), prefix patterns through
// ListFunctions.
func (h *Handler) reconcileTargets(ctx context.Context, inv *invocation) ([]string, error) {
	names := slices.Clone(h.cfg.Allowed.Names())
	for _, arn := range h.cfg.Allowed.ARNs() {
		if fn, _, err := intent.ParseFunction(arn); err == nil && inv.account != "" && fn.AccountID == inv.account && (fn.Region == "" || fn.Region == h.cfg.Region) {
			arn = fn.Name
		}
		names = append(names, arn)
	}
	if prefixes := h.cfg.Allowed.Prefixes(); len(prefixes) > 0 {
		listed, err := h.control.FunctionNames(ctx, func(name string) bool {
			for _, p := range prefixes {
				if strings.HasPrefix(name, p) {
					return true
				}
			}
			return false
		})
		if err != nil {
			return nil, err
		}
		names = append(names, listed...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func (h *Handler) reconcileFunction(ctx context.Context, inv *invocation, base intent.Intent, function string) ([]results.Message, []*tracking, error) {
	fn, _, err := intent.ParseFunction(function)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %q: %w", function, err)
	}
	base.Function = fn
	configs, err := h.control.List(ctx, fn.String())
	if err != nil {
		if provision.IsTransient(err) {
			return nil, nil, err
		}
		msgs, _, _ := h.awsFailure(base, err)
		return msgs, nil, nil
	}
	var out []results.Message
	var ts []*tracking
	for _, c := range configs {
		it := base
		it.Qualifier = c.Qualifier
		if c.Status.Status == "FAILED" {
			m := h.result(it, results.OutcomeFailed)
			m.Response = responseOf(c.Status)
			m.Reason = fmt.Sprintf("provisioned concurrency on %s:%s is FAILED: %s", fn.Name, c.Qualifier, c.StatusReason)
			out = append(out, m)
			continue
		}
		rule, ok := h.cfg.Policy.Rule(fn.Name)
		var policy *derive.Rule
		if ok {
			policy = &rule
		}
		requested := c.Requested
		d := derive.Decide(derive.Input{
			Explicit: &requested, Policy: policy, MaxConcurrency: h.cfg.MaxConcurrency,
			Target: derive.State{Requested: c.Requested, Status: c.Status.Status},
		})
		// The value in place is the base; what changes it is the policy's
		// bounds (and the hard cap).
		d.Strategy = derive.StrategyPolicy
		if d.Action != derive.ActionPut || d.Value == c.Requested {
			if c.Status.Status == "IN_PROGRESS" {
				// Within policy and still allocating: follow it to the end.
				t := h.newTracking(it, d, 0)
				t.value, t.next, t.noFollowUp = c.Requested, h.now(), true
				ts = append(ts, t)
			}
			continue
		}
		it.Concurrency = &d.Value
		if h.cfg.DryRun {
			m := h.result(it, results.OutcomeDryRun)
			m.Derivation, m.Previous = derivationOf(d), previousOf(c.Status)
			m.Reason = fmt.Sprintf("dry run: %d drifted outside policy; would request %d", c.Requested, d.Value)
			out = append(out, m)
			continue
		}
		st, err := h.control.Put(ctx, fn.String(), c.Qualifier, d.Value)
		if err != nil {
			msgs, _, terr := h.awsFailure(it, err)
			out = append(out, msgs...)
			if terr != nil {
				return out, ts, terr
			}
			continue
		}
		inv.adjustUnreserved(fn.String(), d.Value-c.Requested)
		m := h.result(it, results.OutcomeApplied)
		m.Derivation, m.Previous, m.Response = derivationOf(d), previousOf(c.Status), responseOf(st)
		m.Reason = fmt.Sprintf("%d drifted outside policy (%s); brought back to %d", c.Requested, strings.Join(d.ClampedBy, ", "), d.Value)
		out = append(out, m)
		t := h.newTracking(it, d, 0)
		t.noFollowUp = true
		ts = append(ts, t)
	}
	return out, ts, nil
}
