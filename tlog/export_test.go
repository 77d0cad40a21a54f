package tlog

// Outstanding is how many appends wait for their batch, for the pushback
// test.
func (l *Log) Outstanding() int64 { return l.outstanding.Load() }
