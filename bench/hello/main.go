// Command hello is the reference binary of prewarm's benchmarks (make bench):
// the smallest aws-lambda-go function, built with the same flags as
// prewarm's bootstrap, against which cold start and size are compared.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) {
		return "hello", nil
	})
}
