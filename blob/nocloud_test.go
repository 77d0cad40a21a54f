//go:build ombud_nocloud

package blob_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ombud/ombud/blob"
)

// TestNoCloudSaysWhy: a build without the cloud drivers refuses a cloud
// URL by naming the build tag, not with a bare "unknown scheme".
func TestNoCloudSaysWhy(t *testing.T) {
	for _, u := range []string{"azblob://container", "s3://bucket", "gs://bucket"} {
		if _, err := blob.Open(context.Background(), u); err == nil || !strings.Contains(err.Error(), "ombud_nocloud") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
