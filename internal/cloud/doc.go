// Package cloud links the cloud object stores (azblob://, s3://, gs://)
// and key management services (azurekeyvault://, awskms://, gcpkms://,
// hashivault://) into the program that imports it: cmd/ombud, and the
// tests that talk to a cloud store. Packages blob and keys open any
// scheme that is linked in and link only the local ones (file://, the
// local keyring) themselves, so that the test binaries of the packages
// above them do not link four cloud SDKs they never use.
//
// A build with -tags ombud_nocloud leaves them out of the binary too
// (docs/PERFORMANCE.md, "Build").
package cloud
