package oplog

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkJournalRecord measures what the UI pays per Record (each
// returns after an fsync covers it), alone and with concurrent callers
// sharing fsyncs.
func BenchmarkJournalRecord(b *testing.B) {
	j, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	const n = 1000
	lat := make([]time.Duration, n)
	b.ResetTimer()
	for i := range lat {
		t := time.Now()
		if err := j.Record("tunnel.close", map[string]string{"bytes": strconv.Itoa(i), "terminal": "pc-01"}); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t)
	}
	const writers, each = 16, 200
	var wg sync.WaitGroup
	t0 := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := j.Record("chat.sent", map[string]string{"channel": "general", "i": strconv.Itoa(i)}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(writers*each) / time.Since(t0).Seconds()
	b.StopTimer()
	sort.Slice(lat, func(i, k int) bool { return lat[i] < lat[k] })
	fmt.Printf("BENCH oplog.record_p50_ms %.3g ms\n", float64(lat[n/2].Microseconds())/1000)
	fmt.Printf("BENCH oplog.record_p99_ms %.3g ms\n", float64(lat[n*99/100].Microseconds())/1000)
	fmt.Printf("BENCH oplog.record_concurrent_per_s %.3g events/s\n", rate)
	fmt.Printf("BENCH oplog.record_writers %d goroutines\n", writers)
}
