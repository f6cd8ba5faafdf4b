package main

import (
	"testing"

	"filterbench/filters-go/proxytest"
)

func TestLogsThePathLossily(t *testing.T) {
	e := proxytest.New(t, "")
	e.NewStream().SendRequestHeaders(proxytest.H(":path", "/a?b=\xe2\x82"), true)
	if len(e.Logs) != 1 || e.Logs[0] != "info: path_log: /a?b=\uFFFD" {
		t.Fatalf("logs %q", e.Logs)
	}
}
