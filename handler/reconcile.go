package handler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// reconcileChunk is how many functions one record of a reconcile pass
// visits; the rest of the pass goes to the follow-up queue in
// continuations of this size, which the event source mapping fans out, so
// that a pass covers any number of functions within the quota.
const reconcileChunk = 50

// reconcile is the scheduled pass: it lists the provisioned concurrency of
// every allowed function, reports FAILED configurations, brings values that
// drifted outside policy back within it, and resumes tracking of
// configurations still IN_PROGRESS.
func (h *Handler) reconcile(ctx context.Context, inv *invocation, r *record) ([]pending, []*change) {
	base := intent.Intent{ID: r.msg.ID, Trigger: intent.TriggerSchedule, Wait: true}
	if base.ID == "" {
		base.ID = r.id
	}
	functions := r.msg.Functions
	if len(functions) == 0 {
		var err error
		if functions, err = h.reconcileTargets(ctx, inv); err != nil {
			r.fail("reconcile: list functions: %v", err)
			return nil, nil
		}
	}
	visit := functions
	if h.followUps != nil && h.cfg.FollowUpQueueURL != "" && len(functions) > reconcileChunk {
		visit = functions[:reconcileChunk]
		if err := h.continueReconcile(ctx, base.ID, functions[reconcileChunk:]); err != nil {
			r.fail("reconcile: %v", err)
			return nil, nil
		}
	}

	// Scalable targets are listed once for the pass (Application Auto
	// Scaling filters only by exact resource id).
	var scaling map[string][]autoscale.Target
	if h.autoScaling != nil {
		var err error
		if scaling, err = h.autoScaling.Targets(ctx); err != nil {
			h.log.WarnContext(ctx, "reconcile: scalable targets not listed", "error", err.Error())
		}
	}

	var mu sync.Mutex
	var out []pending
	var cs []*change
	var unvisited []string
	var g errgroup.Group
	g.SetLimit(8)
	for _, name := range visit {
		g.Go(func() error {
			if ctx.Err() != nil {
				mu.Lock()
				unvisited = append(unvisited, name)
				mu.Unlock()
				return nil
			}
			ms, tr, err := h.reconcileFunction(ctx, inv, r, base, name, scaling)
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				out = append(out, pending{rec: r, msg: m})
			}
			cs = append(cs, tr...)
			if err != nil {
				if ctx.Err() != nil && provision.IsTransient(err) {
					unvisited = append(unvisited, name)
				} else {
					r.fail("reconcile %s: %v", name, err)
				}
			}
			return nil
		})
	}
	_ = g.Wait() // each function reports through out and r
	if len(unvisited) > 0 {
		// The invocation's deadline came first: the rest of this part of
		// the pass continues in a follow-up rather than starting over.
		slices.Sort(unvisited)
		if h.followUps == nil || h.cfg.FollowUpQueueURL == "" {
			r.fail("reconcile: %d functions not visited before the deadline", len(unvisited))
		} else if err := h.continueReconcile(ctx, base.ID, unvisited); err != nil {
			r.fail("reconcile: %v", err)
		}
	}
	return out, cs
}

// continueReconcile writes the functions still to visit as continuations of
// the pass.
func (h *Handler) continueReconcile(ctx context.Context, id string, functions []string) error {
	for i, chunk := 0, []string(nil); i < len(functions); i += reconcileChunk {
		chunk = functions[i:min(i+reconcileChunk, len(functions))]
		body, err := intent.EncodeReconcile(id, chunk)
		if err != nil {
			return err
		}
		if err := h.followUps.SendFollowUp(ctx, body, 0, "reconcile", fmt.Sprintf("%s|%s", id, chunk[0])); err != nil {
			return fmt.Errorf("continue the pass from %s: %w", chunk[0], err)
		}
	}
	h.log.InfoContext(ctx, "reconcile pass continues in follow-ups", "functions", len(functions))
	return nil
}

// reconcileTargets expands ALLOWED_FUNCTIONS: names as they are, ARNs by
// name when they are in prewarm's own account and Region (so that a
// function listed both ways is reconciled once), prefix patterns (by name
// or by ARN in prewarm's own account and Region) through ListFunctions.
func (h *Handler) reconcileTargets(ctx context.Context, inv *invocation) ([]string, error) {
	names := slices.Clone(h.cfg.Allowed.Names())
	for _, arn := range h.cfg.Allowed.ARNs() {
		if fn, _, err := intent.ParseFunction(arn); err == nil && inv.account != "" && fn.AccountID == inv.account && (fn.Region == "" || fn.Region == inv.region) {
			arn = fn.Name
		}
		names = append(names, arn)
	}
	if prefixes := h.cfg.Allowed.ListedPrefixes(inv.account, inv.region); len(prefixes) > 0 {
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

func (h *Handler) reconcileFunction(ctx context.Context, inv *invocation, r *record, base intent.Intent, function string, scaling map[string][]autoscale.Target) ([]results.Message, []*change, error) {
	fn, _, err := intent.ParseFunction(function)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %q: %w", function, err)
	}
	base.Function = fn
	if reason, ok := h.allowed(inv, base); !ok {
		return []results.Message{h.reject(base, reason)}, nil, nil
	}
	configs, err := h.control.List(ctx, fn.String())
	if err != nil {
		m, terr := h.awsFailure(base, err)
		if terr != nil {
			return nil, nil, terr
		}
		return []results.Message{m}, nil, nil
	}
	var out []results.Message
	var cs []*change
	for _, t := range scaling[fn.Name] {
		// A scalable target on an alias that holds no provisioned
		// concurrency manages nothing that receives traffic through
		// prewarm: its policies would only put capacity back. Reported,
		// with the command that removes it; nothing is changed.
		var pc derive.State
		for _, cfg := range configs {
			if cfg.Qualifier == t.Qualifier {
				pc = derive.State{Requested: cfg.Requested, Status: string(cfg.Status.Status)}
			}
		}
		if reason, stray := autoscale.Stray(fn.Name, t, pc, nil); stray {
			it := base
			it.Qualifier = t.Qualifier
			out = append(out, h.message(&change{rec: r, it: it}, results.OutcomeDryRun, reason))
		}
	}
	for _, cfg := range configs {
		it := base
		it.Qualifier = cfg.Qualifier
		if cfg.Status.Status == provision.Failed {
			c := &change{rec: r, it: it, observed: cfg.Status}
			reason := fmt.Sprintf("provisioned concurrency on %s:%s is FAILED: %s", fn.Name, cfg.Qualifier, cfg.StatusReason)
			reason += h.weightsLeftBehind(ctx, fn, cfg)
			out = append(out, h.message(c, results.OutcomeFailed, reason))
			continue
		}
		rule, ok := h.cfg.Policy.Rule(fn.Name)
		var policy *derive.Rule
		if ok {
			policy = &rule
		}
		requested := cfg.Requested
		d := derive.Decide(derive.Input{
			Explicit: &requested, Policy: policy, MaxConcurrency: h.cfg.MaxConcurrency,
			Target: derive.State{Requested: cfg.Requested, Status: string(cfg.Status.Status)},
		})
		// The value in place is the base; what changes it is the policy's
		// bounds (and the hard cap).
		d.Strategy = derive.StrategyPolicy
		if d.Action != derive.ActionPut || d.Value == cfg.Requested {
			if cfg.Status.Status == provision.InProgress {
				// Within policy and still allocating: follow it to the end.
				d.Value = cfg.Requested
				c := h.newChange(r, it, d, cfg.Status)
				c.noFollowUp = true
				cs = append(cs, c)
			}
			continue
		}
		it.Concurrency = &d.Value
		c := h.newChange(r, it, d, cfg.Status)
		if h.cfg.DryRun {
			c.observed = provision.Status{}
			out = append(out, h.decided(c, results.OutcomeDryRun, fmt.Sprintf("dry run: %d drifted outside policy; would request %d", cfg.Requested, d.Value)))
			continue
		}
		st, err := h.control.Put(ctx, fn.String(), cfg.Qualifier, d.Value)
		if err != nil {
			m, terr := h.awsFailure(it, err)
			if terr != nil {
				return out, cs, terr
			}
			out = append(out, m)
			continue
		}
		inv.adjustUnreserved(fn.String(), d.Value-cfg.Requested)
		c.observed = st
		out = append(out, h.decided(c, results.OutcomeApplied, fmt.Sprintf("%d drifted outside policy (%s); brought back to %d", cfg.Requested, strings.Join(d.ClampedBy, ", "), d.Value)))
		c.noFollowUp = true
		c.next = h.now().Add(h.pollEvery)
		cs = append(cs, c)
	}
	return out, cs, nil
}

// weightsLeftBehind says, for a FAILED configuration on an alias, whether
// the alias still routes by weight minutes after it failed — what a failed
// initialisation leaves under SAM's alias provisioned concurrency, and what
// makes every later deployment fail until the weights are cleared — with
// the command that clears them. "" for anything else.
func (h *Handler) weightsLeftBehind(ctx context.Context, fn intent.Function, cfg provision.QualifiedStatus) string {
	if strings.Trim(cfg.Qualifier, "0123456789") == "" {
		return "" // a version routes nothing
	}
	weights, err := h.control.AliasWeights(ctx, fn.String(), cfg.Qualifier)
	if err != nil || len(weights) == 0 {
		return ""
	}
	failedAt, ok := derive.ParseLastModified(cfg.LastModified)
	if !ok {
		return ""
	}
	left, ok := derive.WeightsLeftBehind(fn.Name, cfg.Qualifier, weights, derive.State{Requested: cfg.Requested, Status: string(cfg.Status.Status)}, failedAt, h.now(), 0)
	if !ok {
		return ""
	}
	if rule, ok := h.cfg.Policy.Rule(fn.Name); ok && rule.ClearWeights && !h.cfg.DryRun {
		if err := h.control.ClearAliasWeights(ctx, fn.String(), cfg.Qualifier); err == nil {
			return "; " + left.Reason + "; cleared (the policy's clearWeights), as " + left.Command + " does"
		} else {
			h.log.WarnContext(ctx, "weights left behind not cleared", "functionName", fn.Name, "alias", cfg.Qualifier, "error", err.Error())
		}
	}
	return "; " + left.Reason + "; clear them with: " + left.Command
}
