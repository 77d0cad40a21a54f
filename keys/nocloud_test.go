//go:build ombud_nocloud

package keys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ombud/ombud/keys"
)

// TestNoCloudSaysWhy: a build without the KMS drivers refuses a KMS URL by
// naming the build tag.
func TestNoCloudSaysWhy(t *testing.T) {
	for _, u := range []string{"awskms://alias/k?region=eu-central-1", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "azurekeyvault://v.vault.azure.net/keys/k", "hashivault://k"} {
		if _, err := keys.OpenURL(context.Background(), u, 1); err == nil || !strings.Contains(err.Error(), "ombud_nocloud") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
