package tlog

import "time"

// Outstanding is how many appends wait for their batch, for the pushback
// test.
func (l *Log) Outstanding() int64 { return l.outstanding.Load() }

// Idle makes the last completed append look d old, as after an idle spell.
func (l *Log) Idle(d time.Duration) { l.progress.Store(time.Now().Add(-d).UnixNano()) }

// Stalled reports whether the watchdog counts the log stalled.
func (l *Log) Stalled() bool { return l.stalled.Load() }
