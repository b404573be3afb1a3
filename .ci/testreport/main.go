// Command testreport reads `go test -json` on stdin and prints what a person
// needs: each package's result line, the whole output of every failed test,
// then the slowest tests and a "N passed, N failed" line.
// It exits non-zero when a test or a package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	top := 15
	type timing struct {
		name    string
		elapsed float64
	}
	var timings []timing
	passed, failed, skipped := 0, 0, 0
	pkgFail := false
	var skippedNames []string
	outputs := map[string][]string{} // test → its output so far
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Println(string(line)) // build errors arrive as plain text
			continue
		}
		if e.Test == "" {
			// Package level: result lines and build errors.
			if e.Output != "" && !strings.HasPrefix(e.Output, "=== ") && e.Output != "PASS\n" &&
				!strings.HasPrefix(e.Output, "testing: warning: no tests to run") {
				fmt.Print(e.Output)
			}
			if e.Action == "fail" {
				pkgFail = true
			}
			continue
		}
		key := e.Package + "." + e.Test
		if e.Output != "" {
			outputs[key] = append(outputs[key], e.Output)
		}
		if e.Action == "fail" {
			// Subtests report first; print each failure once, with its log.
			fmt.Print(strings.Join(outputs[key], ""))
		}
		if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
			delete(outputs, key)
		}
		if strings.Contains(e.Test, "/") {
			continue // count top-level tests only
		}
		switch e.Action {
		case "pass":
			passed++
			timings = append(timings, timing{e.Package + "." + e.Test, e.Elapsed})
		case "fail":
			failed++
			timings = append(timings, timing{e.Package + "." + e.Test, e.Elapsed})
		case "skip":
			skipped++
			skippedNames = append(skippedNames, e.Package+"."+e.Test)
		}
	}
	sort.Slice(timings, func(i, j int) bool { return timings[i].elapsed > timings[j].elapsed })
	fmt.Println("\nSlowest tests:")
	for i, tm := range timings {
		if i == top {
			break
		}
		fmt.Printf("  %7.2fs  %s\n", tm.elapsed, tm.name)
	}
	if len(skippedNames) > 0 {
		fmt.Println("Skipped:", strings.Join(skippedNames, ", "))
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || pkgFail {
		os.Exit(1)
	}
}
