package sqssim

import (
	"context"
	"maps"
	"strings"
)

// maxTags is how many tags SQS allows on a queue.
const maxTags = 50

type tagQueueInput struct {
	QueueURL *string           `json:"QueueUrl"`
	Tags     map[string]string `query:"Tag,map=Key/Value"`
}

type untagQueueInput struct {
	QueueURL *string  `json:"QueueUrl"`
	TagKeys  []string `query:"TagKey"`
}

type listQueueTagsOutput struct {
	Tags map[string]string `json:",omitempty" query:"Tag,map=Key/Value"`
}

func checkTags(tags map[string]string) *apiError {
	if len(tags) > maxTags {
		return invalidParameter("Too many tags added for queue. The maximum number of tags on a queue is %d.", maxTags)
	}
	for k := range tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParameter("Tag keys must be 1 to 128 characters and must not start with aws:.")
		}
	}
	return nil
}

func (s *Service) tagQueue(_ context.Context, in *tagQueueInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if len(in.Tags) == 0 {
			return missingParameter("Tags")
		}
		merged := maps.Clone(q.tags)
		maps.Copy(merged, in.Tags)
		if err := checkTags(merged); err != nil {
			return err
		}
		q.tags = merged
		return nil
	})
}

func (s *Service) untagQueue(_ context.Context, in *untagQueueInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if len(in.TagKeys) == 0 {
			return missingParameter("TagKeys")
		}
		for _, k := range in.TagKeys {
			delete(q.tags, k)
		}
		return nil
	})
}

func (s *Service) listQueueTags(_ context.Context, in *queueURLInput) (*listQueueTagsOutput, *apiError) {
	out := &listQueueTagsOutput{}
	return out, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if len(q.tags) > 0 {
			out.Tags = maps.Clone(q.tags)
		}
		return nil
	})
}
