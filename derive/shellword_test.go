package derive

import (
	"regexp"
	"testing"
)

// plainWordPattern is what plainWord implements.
var plainWordPattern = regexp.MustCompile(`^[A-Za-z0-9_:.-]+$`)

func FuzzPlainWord(f *testing.F) {
	for _, s := range []string{"", "my-function", "arn:aws:lambda:us-east-1:123456789012:function:f", "BLUE", "f; rm -rf /", "a'b", "a b", "a\n", "\u00e9", "\xff", "$LATEST", "a/b", "1.2_3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := plainWord(s), plainWordPattern.MatchString(s); got != want {
			t.Fatalf("plainWord(%q) = %v, pattern says %v", s, got, want)
		}
	})
}
