// Package bench measures the desktop app for `make bench`: cold start
// against a bare Fyne window in the same run, and the stripped binary size.
// The figures print as BENCH lines (DESIGN.md, Performance).
package bench
