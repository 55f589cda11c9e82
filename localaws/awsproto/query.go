package awsproto

import "net/http"

// Query serves a JSON service's operations over the AWS query protocol as
// well: form-encoded Action=<Operation>&Version=..., answered in XML.
type Query struct {
	// Version is the API version query requests carry ("2012-11-05").
	Version string
	// XMLNamespace is the xmlns of the answers
	// ("http://queue.amazonaws.com/doc/2012-11-05/").
	XMLNamespace string
}

func isQuery(r *http.Request) bool { return false }

func (q *Query) operation(r *http.Request, service string) (string, bool) { return "", false }

func (q *Query) serve(w http.ResponseWriter, r *http.Request, op string, j *JSON) {}

func (q *Query) writeError(w http.ResponseWriter, e *Error) {}
