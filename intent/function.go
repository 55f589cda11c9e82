package intent

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of Lambda's identifiers (see the Lambda API reference for FunctionName and Alias).
const (
	maxFunctionNameLen = 140 // a name, a partial ARN or a full ARN, qualifier included
	maxShortNameLen    = 64
	maxQualifierLen    = 128
	// MaxValue is the largest concurrency value prewarm accepts anywhere: Lambda's
	// ProvisionedConcurrentExecutions is a 32-bit integer.
	MaxValue = 1<<31 - 1
	// Latest is the unpublished version, which can never hold provisioned concurrency.
	Latest = "$LATEST"
)

// Function is a parsed functionName: a name, a full ARN or a partial ARN.
type Function struct {
	// Name is the short function name; always set.
	Name string
	// Partition comes from a full ARN ("aws", "aws-cn", ...); "" otherwise.
	Partition string
	// Region comes from a full ARN; "" otherwise.
	Region string
	// AccountID comes from a full or partial ARN; "" otherwise.
	AccountID string
}

// ParseFunction parses a functionName in one of the forms Lambda accepts for provisioned
// concurrency calls:
//
//	my-function
//	123456789012:function:my-function[:QUALIFIER]
//	arn:aws:lambda:us-east-1:123456789012:function:my-function[:QUALIFIER]
//
// qualifier is the ARN's qualifier suffix, "" when there is none. The qualifier is checked
// for its syntax only ($LATEST is syntactically valid); use ValidateQualifier to refuse
// qualifiers that cannot hold provisioned concurrency.
func ParseFunction(s string) (fn Function, qualifier string, err error) {
	fail := func(why string) (Function, string, error) {
		return Function{}, "", fmt.Errorf("functionName %s %s", quote(s), why)
	}
	switch {
	case s == "":
		return Function{}, "", errors.New("functionName is empty")
	case len(s) > maxFunctionNameLen:
		return fail(fmt.Sprintf("is %d characters long, more than the %d Lambda allows", len(s), maxFunctionNameLen))
	}
	parts := strings.Split(s, ":")
	var rest []string // [name] or [name, qualifier]
	switch {
	case parts[0] == "arn":
		if len(parts) < 7 || len(parts) > 8 {
			return fail("is not a Lambda function ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
		}
		if !validPartition(parts[1]) {
			return fail(fmt.Sprintf("has an invalid partition %s", quote(parts[1])))
		}
		if parts[2] != "lambda" {
			return fail(fmt.Sprintf("is an ARN of service %s, not lambda", quote(parts[2])))
		}
		if !validRegion(parts[3]) {
			return fail(fmt.Sprintf("has an invalid Region %s", quote(parts[3])))
		}
		if !validAccountID(parts[4]) {
			return fail(fmt.Sprintf("has an invalid account ID %s (want 12 digits)", quote(parts[4])))
		}
		if parts[5] != "function" {
			return fail(fmt.Sprintf("is an ARN of resource type %s, not function", quote(parts[5])))
		}
		fn = Function{Partition: parts[1], Region: parts[3], AccountID: parts[4]}
		rest = parts[6:]
	case len(parts) == 1:
		rest = parts
	case len(parts) >= 3 && len(parts) <= 4 && parts[1] == "function":
		if !validAccountID(parts[0]) {
			return fail(fmt.Sprintf("has an invalid account ID %s (want 12 digits)", quote(parts[0])))
		}
		fn = Function{AccountID: parts[0]}
		rest = parts[2:]
	default:
		return fail("is not a function name, a partial ARN (ACCOUNT:function:NAME) or a full ARN; give the qualifier in \"to\"")
	}
	if why := shortNameProblem(rest[0]); why != "" {
		return fail(why)
	}
	fn.Name = rest[0]
	if len(rest) == 2 {
		qualifier = rest[1]
		if qualifier == "" {
			return fail("ends with an empty qualifier")
		}
		if qualifier != Latest {
			if err := checkQualifierSyntax(qualifier); err != nil {
				return fail(fmt.Sprintf("has an invalid qualifier: %v", err))
			}
		}
	}
	return fn, qualifier, nil
}

// String returns the function in the unqualified form it was given in: the name, the partial
// ARN or the full ARN. That is the FunctionName to pass to the Lambda API.
func (f Function) String() string {
	switch {
	case f.Partition != "":
		return "arn:" + f.Partition + ":lambda:" + f.Region + ":" + f.AccountID + ":function:" + f.Name
	case f.AccountID != "":
		return f.AccountID + ":function:" + f.Name
	default:
		return f.Name
	}
}

// IsARN reports whether the function was given as a full or partial ARN.
func (f Function) IsARN() bool { return f.AccountID != "" }

// validate checks that f is what ParseFunction could have produced.
func (f Function) validate() error {
	got, q, err := ParseFunction(f.String())
	if err != nil {
		return err
	}
	if got != f || q != "" {
		return fmt.Errorf("function %+v is not well formed", f)
	}
	return nil
}

// ValidateQualifier checks that q names an alias or a published version, the only
// qualifiers that can hold provisioned concurrency.
func ValidateQualifier(q string) error {
	switch q {
	case "":
		return errors.New("qualifier is empty")
	case Latest:
		return errors.New("qualifier $LATEST cannot hold provisioned concurrency: use an alias or a published version")
	}
	return checkQualifierSyntax(q)
}

func checkQualifierSyntax(q string) error {
	if len(q) > maxQualifierLen {
		return fmt.Errorf("qualifier %s is %d characters long, more than %d", quote(q), len(q), maxQualifierLen)
	}
	if !nameChars(q) {
		return fmt.Errorf("qualifier %s may contain only letters, digits, '-' and '_'", quote(q))
	}
	if allDigits(q) && (q[0] == '0') {
		return fmt.Errorf("qualifier %s is not a published version number (versions start at 1)", quote(q))
	}
	return nil
}

func shortNameProblem(name string) string {
	switch {
	case name == "":
		return "has an empty function name"
	case len(name) > maxShortNameLen:
		return fmt.Sprintf("has a function name of %d characters, more than %d", len(name), maxShortNameLen)
	case !nameChars(name):
		return "has a function name with characters other than letters, digits, '-' and '_'"
	}
	return ""
}

// isNameByte reports whether c is one of [a-zA-Z0-9-_].
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// nameChars reports whether s is non-empty and made only of [a-zA-Z0-9-_].
func nameChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validAccountID(s string) bool { return len(s) == 12 && allDigits(s) }

// validPartition accepts aws and its hyphenated siblings (aws-cn, aws-us-gov, aws-iso-b, ...).
func validPartition(s string) bool {
	if s == "aws" {
		return true
	}
	rest, ok := strings.CutPrefix(s, "aws-")
	if !ok || len(s) > 32 {
		return false
	}
	for _, seg := range strings.Split(rest, "-") {
		if !lowerLetters(seg) {
			return false
		}
	}
	return true
}

// validRegion accepts Region codes such as us-east-1, us-gov-west-1, eusc-de-east-1.
func validRegion(s string) bool {
	if len(s) > 32 {
		return false
	}
	segs := strings.Split(s, "-")
	if len(segs) < 3 {
		return false
	}
	for _, seg := range segs[:len(segs)-1] {
		if !lowerLetters(seg) {
			return false
		}
	}
	last := segs[len(segs)-1]
	return len(last) <= 2 && allDigits(last)
}

func lowerLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// quote quotes s for a message, shortening it so a hostile payload cannot bloat a result.
func quote(s string) string {
	const limit = 80
	if len(s) > limit {
		cut := limit
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// PartitionOf returns the partition of a Region code.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-isof-"), strings.HasPrefix(region, "eu-isof-"):
		return "aws-iso-f"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	}
	return "aws"
}
