package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ombud/ombud/witness"
)

func witnessKeygenCommand() command {
	return command{name: "witness keygen", usage: "--name NAME [--dir DIR]", need: []string{"name"},
		summary: "make a witness's key: the private key goes to a file, the cosignature verifier key to stdout",
		example: "ombud witness keygen --name witness.example/w1",
		setup: func(m *Main, fs *flag.FlagSet) action {
			name := fs.String("name", "", "the witness's name, as it appears in cosignature lines (e.g. witness.example/w1)")
			dir := fs.String("dir", ".", "directory for the private key file")
			return func(ctx context.Context, _ []string) error { return m.witnessKeygen(*name, *dir) }
		},
	}
}

func witnessServeCommand() command {
	return command{name: "witness serve", usage: "--key FILE --dir DIR --log ORIGIN=VKEY [--log ORIGIN=VKEY …] [--listen ADDR]", need: []string{"key", "log"},
		summary: "run a C2SP tlog-witness that cosigns the consistent checkpoints of the logs it is given",
		example: "ombud witness serve --key witness.example_w1.key --dir witness-state --log \"records.example/log=$(curl -s http://127.0.0.1:8080/log/key)\"",
		setup: func(m *Main, fs *flag.FlagSet) action {
			keyFile := fs.String("key", "", "the witness's private key file (from witness keygen)")
			dir := fs.String("dir", "witness-state", "directory holding the latest cosigned checkpoint of each log")
			listen := fs.String("listen", "127.0.0.1:7380", "address to listen on")
			var logs multiFlag
			fs.Var(&logs, "log", "a log to witness, ORIGIN=VKEY or VKEY (repeatable)")
			return func(ctx context.Context, _ []string) error { return m.witnessServe(ctx, *keyFile, *dir, *listen, logs) }
		},
	}
}

func (m *Main) witnessKeygen(name, dir string) error {
	var cv string
	_, err := m.writeKeyPair(name, dir, "keep it on the witness host only", func(vkey string) (err error) {
		cv, err = witness.VerifierKey(vkey)
		return err
	})
	if err != nil {
		return err
	}
	// Logs and auditors configure the cosignature/v1 key (type 0x04).
	fmt.Fprintln(m.Stdout, cv)
	return nil
}

func (m *Main) witnessServe(ctx context.Context, keyFile, dir, listen string, logs []string) error {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	signer, err := witness.NewSigner(strings.TrimSpace(string(raw)))
	if err != nil {
		return usagef("witness serve: %v", err)
	}
	var ls []witness.Log
	for _, l := range logs {
		pl, err := witness.ParseLog(l)
		if err != nil {
			return usagef("witness serve: %v", err)
		}
		ls = append(ls, pl)
	}
	w, err := witness.New(dir, signer, ls)
	if err != nil {
		return err
	}
	logger, err := m.logger("info")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", listen, err)
	}
	hs := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	logger.Info("witness listening", "addr", ln.Addr().String(), "name", signer.Name(), "logs", len(ls))
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("witness stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("witness shutdown incomplete", "err", err)
	}
	return nil
}
