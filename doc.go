// Package ombud is the domain of the ombud custody gateway: the versioned
// transparency-log entry and its envelope, keyed pseudonyms, commitments to
// private detail records, principals and their roles, receipts, and the
// interfaces (Store, Log) that adapters implement.
//
// Nothing in this package performs I/O. Storage, the log, keys and HTTP live
// in packages named after what they wrap: store/sqlite, tlog, api.
package ombud
