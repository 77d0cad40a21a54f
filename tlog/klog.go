package tlog

import (
	"context"
	"log/slog"
	"strings"
)

// noOldCheckpoint is what Tessera says, through klog at level info, when
// it publishes a checkpoint and finds none before it: on a new log, at its
// first checkpoint. It reads as an error and is none, so it is dropped
// (New says that a new log was created instead). Any other failure to read
// the old checkpoint, such as a permission error, still gets through.
const noOldCheckpoint = "Failed to fetch old checkpoint: file does not exist"

// newPOSIXLog begins the line Tessera writes when it creates a log's
// directory; New says the same in plain words ("created a new, empty
// transparency log").
const newPOSIXLog = "Initializing directory for POSIX log at "

// TesseraHandler wraps the handler Tessera's own log lines go to (klog's
// slog logger): it keeps every line but the two Tessera writes, at level
// info, when it creates a new log, which New replaces with one line in
// plain words.
func TesseraHandler(h slog.Handler) slog.Handler { return tesseraHandler{h} }

type tesseraHandler struct{ slog.Handler }

func (t tesseraHandler) Handle(ctx context.Context, r slog.Record) error {
	if msg := strings.TrimSpace(r.Message); r.Level == slog.LevelInfo && (msg == noOldCheckpoint || strings.HasPrefix(msg, newPOSIXLog)) {
		return nil
	}
	return t.Handler.Handle(ctx, r)
}

func (t tesseraHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return tesseraHandler{t.Handler.WithAttrs(as)}
}

func (t tesseraHandler) WithGroup(name string) slog.Handler {
	return tesseraHandler{t.Handler.WithGroup(name)}
}
