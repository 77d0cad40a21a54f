package blob_test

// The Azure Blob conformance test opens azblob:// URLs: the cloud object
// stores are linked into this test as into the binary (none in a build
// with -tags ombud_nocloud, which TestNoCloudSaysWhy checks).
import _ "github.com/ombud/ombud/internal/cloud"
