package keys

// The keepers a KEK URL may name. Each registers its scheme with
// gocloud.dev/secrets: azurekeyvault://, awskms://, gcpkms://, hashivault://,
// and base64key:// (a key in the URL; tests only).
import (
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
	_ "gocloud.dev/secrets/hashivault"
	_ "gocloud.dev/secrets/localsecrets"
)
