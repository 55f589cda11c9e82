package sqssim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/prewarm/prewarm/localaws/sqssim"
)

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

// service is the emulator's per-service contract (declared in package
// localaws, which imports this one).
type service interface {
	Operation(r *http.Request) (string, bool)
	ServeHTTP(w http.ResponseWriter, r *http.Request)
	WriteThrottled(w http.ResponseWriter, op string)
	WriteServiceError(w http.ResponseWriter, op string)
}

var _ service = (*sqssim.Service)(nil)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func asType[T error](err error, target *T) bool { return errors.As(err, target) }
