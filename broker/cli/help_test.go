package cli

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

// TestEveryNounAndVerbAnswersHelp: `broker admin NOUN --help` lists the
// noun's verbs and `broker admin NOUN VERB --help` prints that command's
// usage, for every entry of the command table, without opening a data
// directory.
func TestEveryNounAndVerbAnswersHelp(t *testing.T) {
	dir := t.TempDir() + "/never-created"
	getenv := func(k string) string {
		if k == "ZAITAKU_DATA" {
			return dir
		}
		return ""
	}
	nouns := map[string][]string{}
	for _, c := range commands {
		nouns[c.noun] = append(nouns[c.noun], c.verb)
		for _, h := range []string{"-h", "--help"} {
			var out, errb bytes.Buffer
			code := Main([]string{"admin", c.noun, c.verb, h}, getenv, &out, &errb)
			want := "usage: broker admin " + c.noun + " " + c.verb
			if code != 0 || !strings.Contains(errb.String(), want) {
				t.Errorf("%s %s %s: code %d, stderr %q; want 0 and %q", c.noun, c.verb, h, code, errb.String(), want)
			}
		}
	}
	for noun, verbs := range nouns {
		for _, h := range []string{"-h", "--help", "help"} {
			var out, errb bytes.Buffer
			code := Main([]string{"admin", noun, h}, getenv, &out, &errb)
			if code != 0 {
				t.Errorf("%s %s: code %d", noun, h, code)
			}
			for _, v := range verbs {
				if !strings.Contains(errb.String(), noun+" "+v) {
					t.Errorf("%s %s does not list %q: %q", noun, h, v, errb.String())
				}
			}
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"admin", "--help"}, getenv, &out, &errb); code != 0 || !strings.Contains(errb.String(), "oplog search") {
		t.Errorf("admin --help: code %d %q", code, errb.String())
	}
	if code := Main([]string{"admin", "explode"}, getenv, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("admin explode: code %d", code)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("help created the data directory %s", dir)
	}
}

// TestInterleaveAsksTheFlagSet: a boolean flag takes no value, so the
// argument after it stays positional; other flags take the next one.
func TestInterleaveAsksTheFlagSet(t *testing.T) {
	for _, c := range commands {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		c.define(fs)
		fs.VisitAll(func(f *flag.Flag) {
			got := interleave(fs, []string{"ID", "--" + f.Name, "v"})
			wantBool := isBoolFlag(fs, f.Name)
			if wantBool && strings.Join(got, " ") != "--"+f.Name+" ID v" {
				t.Errorf("%s %s: bool flag --%s: %q", c.noun, c.verb, f.Name, got)
			}
			if !wantBool && strings.Join(got, " ") != "--"+f.Name+" v ID" {
				t.Errorf("%s %s: flag --%s: %q", c.noun, c.verb, f.Name, got)
			}
		})
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	terminalsCreate(fs)
	if !isBoolFlag(fs, "pool") || isBoolFlag(fs, "name") || isBoolFlag(fs, "nonexistent") {
		t.Fatal("isBoolFlag does not follow the flag set")
	}
}
