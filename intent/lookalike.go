package intent

import (
	"encoding/json"
	"fmt"
)

// recordsReason explains why a body with "Records" is refused: it is some AWS batch event,
// most likely an SQS batch forwarded into a queue (or an S3, SNS, Kinesis or DynamoDB event
// sent to the wrong function).
func recordsReason(o object) string {
	var records []object
	if err := json.Unmarshal(o["Records"], &records); err != nil || len(records) == 0 {
		return `body has "Records" but is not an event prewarm accepts`
	}
	source := records[0].lenientStr("eventSource")
	if source == "" {
		source = records[0].lenientStr("EventSource")
	}
	switch source {
	case "aws:sqs":
		return "body is an SQS batch event (Records from aws:sqs): a batch is accepted only as the invocation payload, not inside a message"
	case "aws:s3":
		return "body looks like an S3 event notification (Records from aws:s3), not a prewarm intent"
	case "aws:sns":
		return "body looks like an SNS event (Records from aws:sns), not a prewarm intent"
	case "aws:kinesis":
		return "body looks like a Kinesis stream event (Records from aws:kinesis), not a prewarm intent"
	case "aws:dynamodb":
		return "body looks like a DynamoDB stream event (Records from aws:dynamodb), not a prewarm intent"
	case "aws:ses":
		return "body looks like an SES event (Records from aws:ses), not a prewarm intent"
	case "aws:codecommit":
		return "body looks like a CodeCommit trigger event (Records from aws:codecommit), not a prewarm intent"
	case "":
		return `body has "Records" but is not an event prewarm accepts`
	}
	return fmt.Sprintf("body looks like an event batch from %s, not a prewarm intent", quote(source))
}

// signature recognises another AWS service's event by the keys it carries.
type signature struct {
	what string
	keys []string // all must be present
}

// signatures of the AWS events most likely to reach prewarm by mistake, most specific first.
var signatures = []signature{
	{"an SNS notification delivered to SQS without raw message delivery", []string{"Type", "TopicArn", "Message"}},
	{"a CloudWatch Logs subscription event", []string{"awslogs"}},
	{"a Cognito user pool trigger event", []string{"triggerSource", "userPoolId"}},
	{"a Cognito Sync event", []string{"identityPoolId", "datasetRecords"}},
	{"an AWS Config rule event", []string{"configRuleArn", "invokingEvent"}},
	{"an Amazon Connect contact flow event", []string{"Name", "Details"}},
	{"an Amazon Lex event", []string{"currentIntent", "bot"}},
	{"a Lex response", []string{"dialogAction"}},
	{"a CloudFormation custom resource request", []string{"RequestType", "ResponseURL"}},
	{"a Secrets Manager rotation event", []string{"SecretId", "Step"}},
	{"an S3 Batch Operations event", []string{"invocationSchemaVersion"}},
	{"an S3 Object Lambda event", []string{"xAmzRequestId"}},
	{"a Kinesis Data Firehose event", []string{"deliveryStreamArn"}},
	{"a Kinesis Data Analytics event", []string{"applicationArn", "records"}},
	{"an API Gateway authorizer request", []string{"methodArn"}},
	{"an API Gateway authorizer request", []string{"routeArn"}},
	{"an HTTP request (API Gateway, ALB or function URL)", []string{"requestContext"}},
	{"an HTTP request (API Gateway, ALB or function URL)", []string{"httpMethod"}},
	{"an HTTP request (API Gateway, ALB or function URL)", []string{"routeKey"}},
	{"an HTTP response (API Gateway, ALB or function URL)", []string{"statusCode"}},
	{"an authorizer response", []string{"principalId", "policyDocument"}},
	{"an IoT button event", []string{"serialNumber", "clickType"}},
	{"an IoT 1-Click event", []string{"deviceEvent"}},
	{"an IoT custom authorizer request", []string{"protocolData"}},
	{"an IoT pre-provisioning hook request", []string{"claimCertificateId"}},
	{"a Client VPN connection handler request", []string{"connection-id", "endpoint-id"}},
	{"an AppSync authorizer response", []string{"isAuthorized"}},
	{"an AppSync identity", []string{"claims", "issuer"}},
	{"an AppSync identity", []string{"cognitoIdentityPoolId"}},
	{"an IoT custom authorizer response", []string{"isAuthenticated"}},
	{"an IoT pre-provisioning hook response", []string{"allowProvisioning"}},
	{"a Kinesis or Firehose records response", []string{"records"}},
}

// lookalike names the AWS event o looks like, or "" when it looks like nothing in particular
// (and is then decoded as an intent, whose unknown fields are refused).
func lookalike(o object) string {
	if src := o.lenientStr("eventSource"); src != "" {
		switch src {
		case "aws:mq":
			return "an Amazon MQ event (eventSource aws:mq)"
		case "aws:rmq":
			return "a RabbitMQ event (eventSource aws:rmq)"
		case "aws:kafka", "SelfManagedKafka":
			return fmt.Sprintf("a Kafka event (eventSource %s)", src)
		}
		return fmt.Sprintf("an event from %s", quote(src))
	}
	for _, s := range signatures {
		all := true
		for _, k := range s.keys {
			if _, ok := o[k]; !ok {
				all = false
				break
			}
		}
		if all {
			return s.what
		}
	}
	return ""
}
