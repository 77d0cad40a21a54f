package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// client talks to a running deployment: --server (env OMBUD_SERVER) and a
// token from OMBUD_TOKEN or --token-file, as vault and kubectl do.
type client struct {
	server    string
	token     string
	tokenFile *string
	serverF   *string
	http      *http.Client
}

func (m *Main) clientFlags(fs *flag.FlagSet) *client {
	c := &client{http: &http.Client{Timeout: 60 * time.Second}}
	def := m.Getenv("OMBUD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	c.serverF = fs.String("server", def, "server URL (env OMBUD_SERVER)")
	c.tokenFile = fs.String("token-file", "", "file holding the API token (default: env OMBUD_TOKEN)")
	return c
}

// ready resolves flags and environment after parsing.
func (c *client) ready(m *Main, needToken bool) error {
	u, err := url.Parse(*c.serverF)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--server %q: want a URL like http://127.0.0.1:8080", *c.serverF)
	}
	c.server = strings.TrimRight(u.String(), "/")
	if *c.tokenFile != "" {
		b, err := os.ReadFile(*c.tokenFile)
		if err != nil {
			return fmt.Errorf("failed to read token file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	} else {
		c.token = strings.TrimSpace(m.Getenv("OMBUD_TOKEN"))
	}
	if needToken && c.token == "" {
		return usagef("no API token: set OMBUD_TOKEN or pass --token-file FILE")
	}
	return nil
}

// do sends a request and decodes a JSON answer into out; an error answer
// becomes an error carrying the server's code and message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	hdr := http.Header{}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	}
	resp, err := c.send(ctx, c.http, method, path, hdr, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return fmt.Errorf("failed to read answer: %w", err)
		}
		*b = raw
		return nil
	}
	return jsonDecode(resp.Body, out)
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func jsonDecode(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(v); err != nil {
		return fmt.Errorf("unexpected answer from server: %w", err)
	}
	return nil
}
