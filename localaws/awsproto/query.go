package awsproto

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Query serves a JSON service's operations over the AWS query protocol as
// well: form-encoded Action=<Operation>&Version=... (older CLIs and SDKs),
// answered in XML. The operations' input and output structs name their
// members for both protocols: the query name of a field is its `query`
// tag, else its JSON name. Lists and maps are flattened as AWS does:
//
//	AttributeNames []string `query:"AttributeName"`           // AttributeName.1=...
//	Attributes map[string]string `query:"Attribute,map=Name/Value"` // Attribute.1.Name=...&Attribute.1.Value=...
//	Entries []entry `query:"{Action}RequestEntry"`            // SendMessageBatchRequestEntry.1.Id=...
//
// where {Action} stands for the operation's name. The answer is
// <ActionResponse xmlns=...><ActionResult>output</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>, with
// the same names for the output's elements; errors are an <ErrorResponse>
// carrying Error.ErrorCode().
type Query struct {
	// Version is the API version query requests carry ("2012-11-05").
	Version string
	// XMLNamespace is the xmlns of the answers
	// ("http://queue.amazonaws.com/doc/2012-11-05/").
	XMLNamespace string
}

// isQuery reports whether r is a query-protocol request: no X-Amz-Target,
// and a form body or an Action in the URL.
func isQuery(r *http.Request) bool {
	if r == nil || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return true
	}
	return r.URL != nil && r.URL.Query().Get("Action") != ""
}

// queryValues reads r's parameters, from the URL and the form body, and
// leaves the body readable again.
func queryValues(r *http.Request) (url.Values, error) {
	vals := url.Values{}
	if r.URL != nil {
		vals = r.URL.Query()
	}
	if r.Body == nil {
		return vals, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, v := range form {
		vals[k] = append(vals[k], v...)
	}
	return vals, nil
}

func (q *Query) operation(r *http.Request, service string) (string, bool) {
	if !isQuery(r) {
		return "", false
	}
	vals, err := queryValues(r)
	if err != nil {
		return "", false
	}
	action := vals.Get("Action")
	if action == "" {
		return "", false
	}
	if v := vals.Get("Version"); v != "" && v != q.Version {
		return "", false
	}
	return action, true
}

func (q *Query) serve(w http.ResponseWriter, r *http.Request, op string, j *JSON) {
	vals, err := queryValues(r)
	if err != nil {
		q.writeError(w, malformedQuery("The request body is not a valid form: "+err.Error()))
		return
	}
	f, ok := j.Operations[op]
	if !ok {
		q.writeError(w, j.unknown(op))
		return
	}
	out, apiErr := f(r.Context(), func(in any) *Error { return DecodeQuery(vals, op, in) })
	if apiErr != nil {
		q.writeError(w, apiErr)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, op, q.XMLNamespace)
	if out != nil {
		fmt.Fprintf(&buf, "<%sResult>", op)
		if err := encodeQuery(&buf, reflect.ValueOf(out), op); err != nil {
			q.writeError(w, InternalFailure("encode response: "+err.Error()))
			return
		}
		fmt.Fprintf(&buf, "</%sResult>", op)
	}
	id := RequestID()
	fmt.Fprintf(&buf, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", id, op)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (q *Query) writeError(w http.ResponseWriter, e *Error) {
	id := RequestID()
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	fmt.Fprintf(&buf, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, q.XMLNamespace, e.Fault())
	_ = xml.EscapeText(&buf, []byte(e.ErrorCode()))
	buf.WriteString("</Code><Message>")
	_ = xml.EscapeText(&buf, []byte(e.Message))
	fmt.Fprintf(&buf, "</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>", id)
	e.writeHeader(w)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(e.Status)
	_, _ = w.Write(buf.Bytes())
}

func malformedQuery(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "MalformedQueryString", Message: msg}
}

// queryField is how one struct field is named in the query protocol.
type queryField struct {
	name               string // element / parameter name, {Action} substituted
	keyName, valueName string // of a flattened map's entries
	omitEmpty          bool
}

func fieldOf(f reflect.StructField, action string) (queryField, bool) {
	jsonName, jsonOpts, _ := strings.Cut(f.Tag.Get("json"), ",")
	if jsonName == "-" || !f.IsExported() {
		return queryField{}, false
	}
	qf := queryField{name: f.Name, keyName: "Name", valueName: "Value", omitEmpty: strings.Contains(jsonOpts, "omitempty")}
	if jsonName != "" {
		qf.name = jsonName
	}
	if tag := f.Tag.Get("query"); tag != "" {
		parts := strings.Split(tag, ",")
		if parts[0] != "" {
			qf.name = parts[0]
		}
		for _, p := range parts[1:] {
			if kv, ok := strings.CutPrefix(p, "map="); ok {
				qf.keyName, qf.valueName, _ = strings.Cut(kv, "/")
			}
		}
	}
	qf.name = strings.ReplaceAll(qf.name, "{Action}", action)
	return qf, true
}

// DecodeQuery fills the struct v points to from query parameters, for the
// operation action. Numbers that do not parse are InvalidParameterValue,
// as AWS answers them.
func DecodeQuery(vals url.Values, action string, v any) *Error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return InternalFailure(fmt.Sprintf("decode query into %T", v))
	}
	return decodeStruct(vals, "", rv.Elem(), action)
}

func decodeStruct(vals url.Values, prefix string, sv reflect.Value, action string) *Error {
	st := sv.Type()
	for i := range st.NumField() {
		qf, ok := fieldOf(st.Field(i), action)
		if !ok {
			continue
		}
		if err := decodeValue(vals, prefix+qf.name, sv.Field(i), qf, action); err != nil {
			return err
		}
	}
	return nil
}

func decodeValue(vals url.Values, key string, fv reflect.Value, qf queryField, action string) *Error {
	t := fv.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if !hasPrefix(vals, key) {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeValue(vals, key, p.Elem(), qf, action); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		raw, ok := vals[key]
		if !ok {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(raw[0])
		if err != nil {
			return invalidQueryValue(key, raw[0], "not valid base64")
		}
		fv.SetBytes(b)
		return nil
	case t.Kind() == reflect.Slice:
		for n := 1; ; n++ {
			item := key + "." + strconv.Itoa(n)
			if !hasPrefix(vals, item) {
				return nil
			}
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(vals, item, e, queryField{keyName: "Name", valueName: "Value"}, action); err != nil {
				return err
			}
			fv.Set(reflect.Append(fv, e))
		}
	case t.Kind() == reflect.Map:
		for n := 1; ; n++ {
			entry := key + "." + strconv.Itoa(n)
			if !hasPrefix(vals, entry) {
				return nil
			}
			if fv.IsNil() {
				fv.Set(reflect.MakeMap(t))
			}
			k := reflect.New(t.Key()).Elem()
			if err := decodeValue(vals, entry+"."+qf.keyName, k, queryField{}, action); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(vals, entry+"."+qf.valueName, e, queryField{keyName: "Name", valueName: "Value"}, action); err != nil {
				return err
			}
			fv.SetMapIndex(k, e)
		}
	case t.Kind() == reflect.Struct:
		return decodeStruct(vals, key+".", fv, action)
	}
	raw, ok := vals[key]
	if !ok {
		return nil
	}
	s := raw[0]
	switch t.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return invalidQueryValue(key, s, "must be an integer")
		}
		fv.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return invalidQueryValue(key, s, "must be true or false")
		}
		fv.SetBool(b)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return invalidQueryValue(key, s, "must be a number")
		}
		fv.SetFloat(f)
	}
	return nil
}

func invalidQueryValue(key, value, reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValue",
		Message: fmt.Sprintf("Value %s for parameter %s is invalid. Reason: %s.", value, key, reason)}
}

// hasPrefix reports whether any parameter is key itself or lies below it.
func hasPrefix(vals url.Values, key string) bool {
	if _, ok := vals[key]; ok {
		return true
	}
	for k := range vals {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// encodeQuery writes v's fields as the query protocol's XML elements.
func encodeQuery(buf *bytes.Buffer, v reflect.Value, action string) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("query output %s is not a struct", v.Type())
	}
	t := v.Type()
	for i := range t.NumField() {
		qf, ok := fieldOf(t.Field(i), action)
		if !ok {
			continue
		}
		if err := encodeElement(buf, qf, v.Field(i), action); err != nil {
			return err
		}
	}
	return nil
}

func encodeElement(buf *bytes.Buffer, qf queryField, fv reflect.Value, action string) error {
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return nil
		}
		fv = fv.Elem()
	}
	if qf.omitEmpty && fv.IsZero() {
		return nil
	}
	switch {
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
		return writeText(buf, qf.name, base64.StdEncoding.EncodeToString(fv.Bytes()))
	case fv.Kind() == reflect.Slice:
		for i := range fv.Len() {
			if err := encodeElement(buf, queryField{name: qf.name, keyName: "Name", valueName: "Value"}, fv.Index(i), action); err != nil {
				return err
			}
		}
		return nil
	case fv.Kind() == reflect.Map:
		keys := fv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			fmt.Fprintf(buf, "<%s>", qf.name)
			if err := writeText(buf, qf.keyName, k.String()); err != nil {
				return err
			}
			if err := encodeElement(buf, queryField{name: qf.valueName, keyName: "Name", valueName: "Value"}, fv.MapIndex(k), action); err != nil {
				return err
			}
			fmt.Fprintf(buf, "</%s>", qf.name)
		}
		return nil
	case fv.Kind() == reflect.Struct:
		fmt.Fprintf(buf, "<%s>", qf.name)
		if err := encodeQuery(buf, fv, action); err != nil {
			return err
		}
		fmt.Fprintf(buf, "</%s>", qf.name)
		return nil
	case fv.Kind() == reflect.String:
		return writeText(buf, qf.name, fv.String())
	case fv.Kind() == reflect.Bool:
		return writeText(buf, qf.name, strconv.FormatBool(fv.Bool()))
	case fv.CanInt():
		return writeText(buf, qf.name, strconv.FormatInt(fv.Int(), 10))
	case fv.Kind() == reflect.Float64:
		return writeText(buf, qf.name, strconv.FormatFloat(fv.Float(), 'g', -1, 64))
	}
	return fmt.Errorf("query output field %s of type %s", qf.name, fv.Type())
}

func writeText(buf *bytes.Buffer, name, text string) error {
	fmt.Fprintf(buf, "<%s>", name)
	if err := xml.EscapeText(buf, []byte(text)); err != nil {
		return err
	}
	fmt.Fprintf(buf, "</%s>", name)
	return nil
}
