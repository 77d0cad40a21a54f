// Package ombud is the domain of the ombud custody gateway: what it keeps
// and decides about. Principals and their roles and tokens, objects and
// their classes, holds and erasures, issuers and the authorizations they
// sign, analytic systems, their runs, flags, reviews, actions and
// contests, emergency reads, the registered vocabulary, keyed pseudonyms
// and receipts; the read interface of each aggregate's store; the stable
// error codes and the sentinels behind them.
//
// Nothing in this package performs I/O or knows HTTP. The change machinery
// (every state change as one typed operation, and the journal that logs
// it) is package journal; the log entry's schema is package entry; stores,
// the log, keys and HTTP live in packages named after what they wrap:
// store/sqlite, tlog, keys, api.
package ombud
