package sqssim

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
)

// md5Hex is the MD5OfMessageBody / MD5OfBody digest.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sha256Hex is the content-based deduplication id of a FIFO message body.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Transport type bytes of the SQS message attribute digest.
const (
	transportString     = 1
	transportBinary     = 2
	transportStringList = 3
	transportBinaryList = 4
)

// attributesMD5 is SQS's MD5OfMessageAttributes (and
// MD5OfMessageSystemAttributes): for each attribute in name order, the
// length-prefixed name, the length-prefixed data type, one transport-type
// byte and the length-prefixed value(s); lengths are 4-byte big-endian.
// It is "" for no attributes, as SQS omits the member then.
func attributesMD5(attrs map[string]attributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	for _, n := range names {
		v := attrs[n]
		writeLengthPrefixed(h, []byte(n))
		writeLengthPrefixed(h, []byte(deref(v.DataType)))
		switch {
		case v.StringValue != nil:
			h.Write([]byte{transportString})
			writeLengthPrefixed(h, []byte(*v.StringValue))
		case v.BinaryValue != nil:
			h.Write([]byte{transportBinary})
			writeLengthPrefixed(h, v.BinaryValue)
		case len(v.StringListValues) > 0:
			h.Write([]byte{transportStringList})
			for _, s := range v.StringListValues {
				writeLengthPrefixed(h, []byte(s))
			}
		case len(v.BinaryListValues) > 0:
			h.Write([]byte{transportBinaryList})
			for _, b := range v.BinaryListValues {
				writeLengthPrefixed(h, b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLengthPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
