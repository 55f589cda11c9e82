package lambdasim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// functionLastModifiedLayout is how AWS formats a function's LastModified:
// 2019-11-21T19:32:12.345+0000.
const functionLastModifiedLayout = "2006-01-02T15:04:05.000-0700"

// functionConfigJSON is a FunctionConfiguration as AWS returns it for a
// function deployed from a zip: GetFunction's Configuration, and
// ListFunctions' items, which AWS sends without State and LastUpdateStatus.
type functionConfigJSON struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Role             string
	Handler          string
	CodeSize         int64
	Description      string
	Timeout          int
	MemorySize       int
	LastModified     string
	CodeSha256       string
	Version          string
	TracingConfig    struct{ Mode string }
	RevisionId       string
	State            string `json:",omitempty"`
	LastUpdateStatus string `json:",omitempty"`
	PackageType      string
	Architectures    []string
	EphemeralStorage struct{ Size int }
	SnapStart        struct{ ApplyOn, OptimizationStatus string }
	LoggingConfig    struct{ LogFormat, LogGroup string }
}

func (st *state) functionWire(f *function, version, arnQualifier string) functionConfigJSON {
	arn := st.functionARN(f.name)
	if arnQualifier != "" {
		arn = st.qualifiedARN(f.name, arnQualifier)
	}
	c := functionConfigJSON{
		FunctionName:  f.name,
		FunctionArn:   arn,
		Runtime:       "provided.al2023",
		Role:          "arn:aws:iam::" + st.accountID + ":role/" + f.name + "-role",
		Handler:       "bootstrap",
		CodeSize:      functionCodeSize,
		Timeout:       3,
		MemorySize:    128,
		LastModified:  st.created.UTC().Format(functionLastModifiedLayout),
		CodeSha256:    codeSHA256(f.name, version),
		Version:       version,
		RevisionId:    stableUUID(f.name + ":" + version),
		PackageType:   "Zip",
		Architectures: []string{"arm64"},
	}
	c.TracingConfig.Mode = "PassThrough"
	c.EphemeralStorage.Size = 512
	c.SnapStart.ApplyOn, c.SnapStart.OptimizationStatus = "None", "Off"
	c.LoggingConfig.LogFormat, c.LoggingConfig.LogGroup = "Text", "/aws/lambda/"+f.name
	return c
}

// codeSHA256 stands for the base64 SHA-256 of a version's deployment
// package; the emulator has no code, so it is derived from the name.
func codeSHA256(fn, version string) string {
	sum := sha256.Sum256([]byte(fn + ":" + version))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// stableUUID is a UUID-shaped id derived from key, so a version's
// RevisionId stays the same across reads.
func stableUUID(key string) string {
	b := sha256.Sum256([]byte(key))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type listFunctionsOutput struct {
	Functions  []functionConfigJSON
	NextMarker string `json:",omitempty"`
}

// listFunctions lists $LATEST of every function by name, or with
// FunctionVersion=ALL every published version too. The marker is the last
// entry of the previous page.
func (st *state) listFunctions(req *request) (int, any, *Error) {
	maxItems, err := req.maxItems(defaultListItems, maxAliasListItems)
	if err != nil {
		return 0, nil, err
	}
	all := false
	switch v := req.query.Get("FunctionVersion"); v {
	case "":
	case "ALL":
		all = true
	default:
		return 0, nil, errValidationf("Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", v)
	}
	var keys []string
	entries := map[string]functionConfigJSON{}
	for _, name := range sortedKeys(st.functions) {
		f := st.functions[name]
		k := name + ":$LATEST"
		keys = append(keys, k)
		entries[k] = st.functionWire(f, "$LATEST", "")
		if all {
			for _, v := range f.versions {
				k := name + ":" + v
				keys = append(keys, k)
				entries[k] = st.functionWire(f, v, v)
			}
		}
	}
	page, next := paginate(keys, req.query.Get("Marker"), maxItems, functionKeyLess)
	out := listFunctionsOutput{Functions: []functionConfigJSON{}, NextMarker: next}
	for _, k := range page {
		out.Functions = append(out.Functions, entries[k])
	}
	return http.StatusOK, out, nil
}

// functionKeyLess orders "name:version" keys by name, then $LATEST before
// the published versions in numeric order; the listing is built in this
// order, so a marker naming a since-removed entry still finds its place.
func functionKeyLess(a, b string) bool {
	an, av, _ := strings.Cut(a, ":")
	bn, bv, _ := strings.Cut(b, ":")
	if an != bn {
		return an < bn
	}
	if av == "$LATEST" || bv == "$LATEST" {
		return av == "$LATEST" && bv != "$LATEST"
	}
	return versionLess(av, bv)
}

type getFunctionOutput struct {
	Configuration functionConfigJSON
	Code          struct {
		RepositoryType string
		Location       string
	}
	Concurrency *concurrencyJSON `json:",omitempty"`
}

func (st *state) getFunction(req *request) (int, any, *Error) {
	fn, arnQualifier, err := st.parseFunctionName(req.function)
	if err != nil {
		return 0, nil, err
	}
	q := req.query.Get("Qualifier")
	switch {
	case q != "" && arnQualifier != "" && q != arnQualifier:
		return 0, nil, errInvalidParameter(msgQualifierMismatch)
	case q == "":
		q = arnQualifier
	}
	f := st.functions[fn]
	if f == nil {
		return 0, nil, errNotFound("Function not found: " + st.functionARN(fn))
	}
	var out getFunctionOutput
	switch {
	case q == "" || q == "$LATEST":
		out.Configuration = st.functionWire(f, "$LATEST", q)
	case versionPattern.MatchString(q):
		if !f.hasVersion(q) {
			return 0, nil, errNotFound("Function not found: " + st.qualifiedARN(fn, q))
		}
		out.Configuration = st.functionWire(f, q, q)
	default:
		a := f.aliases[q]
		if a == nil {
			return 0, nil, errNotFound("Function not found: " + st.qualifiedARN(fn, q))
		}
		out.Configuration = st.functionWire(f, a.version, q)
	}
	out.Configuration.State, out.Configuration.LastUpdateStatus = "Active", "Successful"
	out.Code.RepositoryType = "S3"
	out.Code.Location = "https://awslambda-" + st.region + "-tasks.s3." + st.region + ".amazonaws.com/snapshots/" + st.accountID + "/" + fn
	if f.reserved != nil {
		r := int64(*f.reserved)
		out.Concurrency = &concurrencyJSON{ReservedConcurrentExecutions: &r}
	}
	return http.StatusOK, out, nil
}
