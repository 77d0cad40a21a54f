//go:build !ombud_nocloud

package blob

// The cloud object stores, in every build but one made with the
// ombud_nocloud tag (docs/PERFORMANCE.md, "Build"): azblob://, s3://, gs://.
import (
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
)

func init() { cloudDrivers = true }
