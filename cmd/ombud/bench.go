package main

import "context"

func (m *Main) benchCmd(ctx context.Context, args []string) error {
	return usagef("bench: not yet")
}
