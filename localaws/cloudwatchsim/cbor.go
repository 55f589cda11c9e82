package cloudwatchsim

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// Smithy RPC v2 CBOR, as the CloudWatch client speaks it: POST
// /service/GraniteServiceVersion20100801/operation/<Op> with header smithy-protocol:
// rpc-v2-cbor and a CBOR map body; answers are CBOR maps, timestamps tag 1 with epoch
// seconds, errors {"__type", "message"} with the query-compatible code in
// x-amzn-query-error (CloudWatch moved from the query protocol).
const (
	serviceShape   = "GraniteServiceVersion20100801"
	operationPath  = "/service/" + serviceShape + "/operation/"
	protocolHeader = "Smithy-Protocol"
	protocolValue  = "rpc-v2-cbor"
	contentType    = "application/cbor"
	errorNamespace = "com.amazonaws.cloudwatch"
	maxBody        = 1 << 20
)

// API returns the service as the localaws server registers it.
func (s *Service) API() awsproto.Service { return api{s} }

type api struct{ s *Service }

var operations = map[string]func(*Service, context.Context, cbor.Map) (cbor.Value, *awsproto.Error){
	"GetMetricData": (*Service).getMetricDataCBOR,
}

func (api) Name() string { return "monitoring" }

func (api) OperationNames() []string { return []string{"GetMetricData"} }

func (api) Operation(r *http.Request) (string, bool) {
	op, ok := strings.CutPrefix(r.URL.Path, operationPath)
	if !ok || r.Method != http.MethodPost || op == "" || strings.Contains(op, "/") {
		return "", false
	}
	return op, true
}

func (a api) ServeOperation(w http.ResponseWriter, r *http.Request, op string) {
	if !strings.EqualFold(r.Header.Get(protocolHeader), protocolValue) {
		a.WriteError(w, r, &awsproto.Error{Status: http.StatusBadRequest, Code: "SerializationException",
			Message: "Missing or invalid smithy-protocol header: want rpc-v2-cbor."})
		return
	}
	f, ok := operations[op]
	if !ok {
		a.WriteError(w, r, &awsproto.Error{Status: http.StatusBadRequest, Code: "UnknownOperationException",
			Message: "The operation " + op + " is not supported by this emulator."})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		a.WriteError(w, r, &awsproto.Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: "Request body is too large."})
		return
	}
	in := cbor.Map{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			a.WriteError(w, r, serialization(fmt.Sprintf("The request body is not CBOR: %v", err)))
			return
		}
		m, ok := v.(cbor.Map)
		if !ok {
			a.WriteError(w, r, serialization("The request body is not a CBOR map."))
			return
		}
		in = m
	}
	out, apiErr := f(a.s, r.Context(), in)
	if apiErr != nil {
		a.WriteError(w, r, apiErr)
		return
	}
	b := cbor.Encode(out)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set(protocolHeader, protocolValue)
	h.Set("x-amzn-RequestId", awsproto.RequestID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (api) WriteError(w http.ResponseWriter, _ *http.Request, e *awsproto.Error) {
	ns := e.Namespace
	if ns == "" {
		ns = errorNamespace
	}
	// The error shapes name their message member "message" or "Message"
	// (InternalServiceFault); both are written so each typed error carries it.
	body := cbor.Map{"__type": cbor.String(ns + "#" + e.Code), "message": cbor.String(e.Message), "Message": cbor.String(e.Message)}
	h := w.Header()
	for k, v := range e.Header {
		h.Set(k, v)
	}
	h.Set("Content-Type", contentType)
	h.Set(protocolHeader, protocolValue)
	h.Set("x-amzn-query-error", e.ErrorCode()+";"+e.Fault())
	h.Set("x-amzn-RequestId", awsproto.RequestID())
	w.WriteHeader(e.Status)
	_, _ = w.Write(cbor.Encode(body))
}

func (api) Throttled(string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", QueryCode: "Throttling", Message: "Rate exceeded"}
}

func (api) Internal(string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalServiceFault", QueryCode: "InternalServiceError",
		Message: "Request processing has failed due to some unknown error, exception, or failure."}
}

func serialization(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "SerializationException", Message: msg}
}

// getMetricDataCBOR decodes the CBOR input, runs GetMetricData and encodes its output.
func (s *Service) getMetricDataCBOR(ctx context.Context, m cbor.Map) (cbor.Value, *awsproto.Error) {
	in, err := decodeGetMetricData(m)
	if err != nil {
		return nil, serialization(err.Error())
	}
	out, apiErr := s.GetMetricData(ctx, in)
	if apiErr != nil {
		return nil, apiErr
	}
	results := cbor.List{}
	for _, r := range out.Results {
		ts := make(cbor.List, len(r.Timestamps))
		for i, t := range r.Timestamps {
			ts[i] = &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
		}
		vs := make(cbor.List, len(r.Values))
		for i, v := range r.Values {
			vs[i] = cbor.Float64(v)
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(r.ID), "Label": cbor.String(r.Label), "StatusCode": cbor.String(r.StatusCode),
			"Timestamps": ts, "Values": vs, "Messages": cbor.List{},
		})
	}
	o := cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}
	if out.NextToken != "" {
		o["NextToken"] = cbor.String(out.NextToken)
	}
	return o, nil
}

// decodeGetMetricData reads a GetMetricDataInput; a member of the wrong type is an error.
func decodeGetMetricData(m cbor.Map) (*GetMetricDataInput, error) {
	in := &GetMetricDataInput{}
	var err error
	if in.Start, err = timeMember(m, "StartTime"); err != nil {
		return nil, err
	}
	if in.End, err = timeMember(m, "EndTime"); err != nil {
		return nil, err
	}
	if in.NextToken, err = stringMember(m, "NextToken"); err != nil {
		return nil, err
	}
	if in.ScanBy, err = stringMember(m, "ScanBy"); err != nil {
		return nil, err
	}
	if v, ok := present(m, "MaxDatapoints"); ok {
		if in.MaxDatapoints, err = cbor.AsInt64(v); err != nil {
			return nil, fmt.Errorf("MaxDatapoints: %v", err)
		}
	}
	qs, ok := present(m, "MetricDataQueries")
	if !ok {
		return in, nil
	}
	list, ok := qs.(cbor.List)
	if !ok {
		return nil, fmt.Errorf("MetricDataQueries is not a list")
	}
	for i, qv := range list {
		qm, ok := qv.(cbor.Map)
		if !ok {
			return nil, fmt.Errorf("MetricDataQueries[%d] is not a structure", i)
		}
		q, err := decodeQuery(qm)
		if err != nil {
			return nil, fmt.Errorf("MetricDataQueries[%d].%v", i, err)
		}
		in.Queries = append(in.Queries, q)
	}
	return in, nil
}

func decodeQuery(m cbor.Map) (Query, error) {
	var q Query
	var err error
	if q.ID, err = stringMember(m, "Id"); err != nil {
		return q, err
	}
	if q.Label, err = stringMember(m, "Label"); err != nil {
		return q, err
	}
	if v, ok := present(m, "ReturnData"); ok {
		b, ok := v.(cbor.Bool)
		if !ok {
			return q, fmt.Errorf("ReturnData is not a boolean")
		}
		rd := bool(b)
		q.ReturnData = &rd
	}
	if _, ok := present(m, "Expression"); ok {
		// The member's name starts the message, as in stringMember: the caller prefixes the
		// query's path (MetricDataQueries[0].Expression: ...).
		return q, fmt.Errorf("%s: metric math is not emulated", "Expression")
	}
	sv, ok := present(m, "MetricStat")
	if !ok {
		return q, nil
	}
	stat, ok := sv.(cbor.Map)
	if !ok {
		return q, fmt.Errorf("MetricStat is not a structure")
	}
	if q.Stat, err = stringMember(stat, "Stat"); err != nil {
		return q, fmt.Errorf("MetricStat.%v", err)
	}
	if v, ok := present(stat, "Period"); ok {
		if q.Period, err = cbor.AsInt64(v); err != nil {
			return q, fmt.Errorf("MetricStat.Period: %v", err)
		}
	}
	mv, ok := present(stat, "Metric")
	if !ok {
		return q, nil
	}
	metric, ok := mv.(cbor.Map)
	if !ok {
		return q, fmt.Errorf("MetricStat.Metric is not a structure")
	}
	if q.Metric.Namespace, err = stringMember(metric, "Namespace"); err != nil {
		return q, fmt.Errorf("MetricStat.Metric.%v", err)
	}
	if q.Metric.Name, err = stringMember(metric, "MetricName"); err != nil {
		return q, fmt.Errorf("MetricStat.Metric.%v", err)
	}
	q.Metric.Dimensions = map[string]string{}
	if dv, ok := present(metric, "Dimensions"); ok {
		dims, ok := dv.(cbor.List)
		if !ok {
			return q, fmt.Errorf("MetricStat.Metric.Dimensions is not a list")
		}
		for i, d := range dims {
			dm, ok := d.(cbor.Map)
			if !ok {
				return q, fmt.Errorf("MetricStat.Metric.Dimensions[%d] is not a structure", i)
			}
			name, err := stringMember(dm, "Name")
			if err != nil {
				return q, fmt.Errorf("MetricStat.Metric.Dimensions[%d].%v", i, err)
			}
			value, err := stringMember(dm, "Value")
			if err != nil {
				return q, fmt.Errorf("MetricStat.Metric.Dimensions[%d].%v", i, err)
			}
			q.Metric.Dimensions[name] = value
		}
	}
	return q, nil
}

// present returns m[k] unless it is absent or null.
func present(m cbor.Map, k string) (cbor.Value, bool) {
	v, ok := m[k]
	if !ok {
		return nil, false
	}
	if _, null := v.(*cbor.Nil); null {
		return nil, false
	}
	return v, true
}

func stringMember(m cbor.Map, k string) (string, error) {
	v, ok := present(m, k)
	if !ok {
		return "", nil
	}
	s, ok := v.(cbor.String)
	if !ok {
		return "", fmt.Errorf("%s is not a string", k)
	}
	return string(s), nil
}

func timeMember(m cbor.Map, k string) (time.Time, error) {
	v, ok := present(m, k)
	if !ok {
		return time.Time{}, nil
	}
	t, err := cbor.AsTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %v", k, err)
	}
	if t.IsZero() || math.Abs(float64(t.Unix())) > 1e11 {
		return time.Time{}, fmt.Errorf("%s is out of range", k)
	}
	return t.UTC(), nil
}
