package keys

// The keepers a KEK URL may name register their schemes with
// gocloud.dev/secrets. This package links base64key:// (a key in the URL;
// tests only); internal/cloud links the key management services.
import (
	_ "gocloud.dev/secrets/localsecrets"
)
