package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestE2EOpenAPILint lints the document a running broker serves with
// Redocly's CLI (installed by `make deps` into .cache/redocly) under its
// recommended rules, every warning an error: servers, a security
// requirement on every operation (bearer on the protected ones), error
// responses with the error schema, no ambiguous paths. The document is
// kept as $ARTIFACTS_DIR/openapi.json.
func TestE2EOpenAPILint(t *testing.T) {
	root := brokertest.RepoRoot(t)
	redocly := filepath.Join(root, ".cache", "redocly", "node_modules", ".bin", "redocly")
	if _, err := os.Stat(redocly); err != nil {
		t.Fatalf("Redocly CLI not installed (%v): run `make deps`", err)
	}
	b := brokertest.Start(t)
	resp, err := b.Client(t).HTTPClient().Get(b.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	out := filepath.Join(brokertest.ArtifactsDir(t), "openapi.json")
	if err := os.WriteFile(out, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, redocly, "lint", "--config", filepath.Join("testdata", "redocly.yaml"),
		"--format", "stylish", "--max-problems", "1000", out)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint found problems in the served document (%v):\n%s", err, msg)
	}
	t.Logf("redocly lint: %d bytes of OpenAPI, no problems", len(doc))
}
