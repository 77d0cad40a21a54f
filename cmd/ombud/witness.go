package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ombud/ombud/witness"
)

func (m *Main) witnessCmd(ctx context.Context, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "keygen":
		return m.witnessKeygen(args[1:])
	case "serve":
		return m.witnessServe(ctx, args[1:])
	case "-h", "--help":
		fmt.Fprintf(m.Stderr, "Usage: ombud witness keygen|serve [flags]\n\nExample:\n  ombud witness keygen --name witness.example/w1\n  ombud witness serve --key witness.example_w1.key --dir witness-state \\\n    --log \"records.example/log=$(curl -s http://127.0.0.1:8080/log/key)\"\n")
		return nil
	}
	return usagef("witness: keygen or serve?")
}

func (m *Main) witnessKeygen(args []string) error {
	fs := m.flags("witness keygen --name NAME", "ombud witness keygen --name witness.example/w1", "")
	name := fs.String("name", "", "the witness's name, as it appears in cosignature lines (e.g. witness.example/w1)")
	dir := fs.String("dir", ".", "directory for the private key file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("witness keygen: --name is required")
	}
	var cv string
	_, err := m.writeKeyPair(*name, *dir, "keep it on the witness host only", func(vkey string) (err error) {
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

func (m *Main) witnessServe(ctx context.Context, args []string) error {
	fs := m.flags("witness serve --key FILE --dir DIR --log ORIGIN=VKEY …",
		"ombud witness serve --key witness.example_w1.key --dir state --log records.example/log=records.example/log+1a2b3c4d+AbC…", "")
	keyFile := fs.String("key", "", "the witness's private key file (from witness keygen)")
	dir := fs.String("dir", "witness-state", "directory holding the latest cosigned checkpoint of each log")
	listen := fs.String("listen", "127.0.0.1:7380", "address to listen on")
	var logs multiFlag
	fs.Var(&logs, "log", "a log to witness, ORIGIN=VKEY or VKEY (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || len(logs) == 0 {
		return usagef("witness serve: --key and at least one --log are required")
	}
	raw, err := os.ReadFile(*keyFile)
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
	w, err := witness.New(*dir, signer, ls)
	if err != nil {
		return err
	}
	logger, err := m.logger("info")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", *listen, err)
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
