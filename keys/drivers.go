package keys

// The keepers a KEK URL may name. Each registers its scheme with
// gocloud.dev/secrets. This file: base64key:// (a key in the URL; tests
// only); drivers_cloud.go: the KMSs.
import (
	_ "gocloud.dev/secrets/localsecrets"
)

// kmsDrivers is set when the key management services are built in.
var kmsDrivers bool
