package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/store/postgres/pgtest"
)

// BenchmarkEventsAcrossBrokers: how long a frame takes from the hub it is
// published on to a socket, on one broker (SQLite, no bus: the baseline,
// in the same run) and across two brokers on one PostgreSQL (published
// on A, the socket on B, through LISTEN/NOTIFY). Live frames (chat's
// kind) and stored events (numbered and stored first), one at a time, so
// that each is a latency and not a queue.
func BenchmarkEventsAcrossBrokers(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	single := serveHub(b, openStore(b, filepath.Join(b.TempDir(), "z.db")).Events(), nil)
	url := pgtest.Shared(b).NewDatabase(b)
	pa, pb := startBroker(b, url), startBroker(b, url)
	type run struct {
		name    string
		publish *broker
		socket  *broker
	}
	runs := []run{{"sqlite_local", single, single}, {"pg_across", pa, pb}}
	for range b.N {
		p99 := map[string]map[string]time.Duration{}
		p50s := map[string]map[string]time.Duration{}
		for _, kind := range []string{"live", "stored"} {
			p99[kind] = map[string]time.Duration{}
			p50s[kind] = map[string]time.Duration{}
			for _, r := range runs {
				s := r.socket.dial(b, "bench-"+kind, "d", 0)
				lat := make([]time.Duration, 0, n)
				for i := range n {
					start := time.Now()
					if kind == "live" {
						r.publish.hub.PushLive([]string{"bench-" + kind}, "bench", i)
					} else {
						r.publish.hub.Publish("bench-"+kind, "bench", i)
					}
					if _, err := s.next(ctx); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				s.conn.CloseNow()
				slices.Sort(lat)
				p50, p := lat[n/2], lat[n*99/100]
				p99[kind][r.name], p50s[kind][r.name] = p, p50
				fmt.Printf("BENCH events.%s_%s_p50 %.3g ms\n", kind, r.name, float64(p50.Microseconds())/1e3)
				fmt.Printf("BENCH events.%s_%s_p99 %.3g ms\n", kind, r.name, float64(p.Microseconds())/1e3)
			}
			fmt.Printf("BENCH events.%s_p50_across_vs_local %.3g ratio\n", kind, float64(p50s[kind]["pg_across"])/float64(p50s[kind]["sqlite_local"]))
			fmt.Printf("BENCH events.%s_p99_across_vs_local %.3g ratio\n", kind, float64(p99[kind]["pg_across"])/float64(p99[kind]["sqlite_local"]))
		}
	}
}
