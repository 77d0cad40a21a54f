//go:build !ombud_nocloud

package keys

// The key management services a KEK URL may name, in every build but one
// made with the ombud_nocloud tag (docs/PERFORMANCE.md, "Build"):
// azurekeyvault://, awskms://, gcpkms://, hashivault://.
import (
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
	_ "gocloud.dev/secrets/hashivault"
)

func init() { kmsDrivers = true }
