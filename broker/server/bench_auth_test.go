package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// BenchmarkAuthLogin measures sign-in at the production argon2id cost:
// sustained logins per second, and the p99 latency when 3,000 staff sign
// in over five minutes (10/s, open loop: arrivals do not wait for answers).
func BenchmarkAuthLogin(b *testing.B) {
	br := brokertest.Start(b, brokertest.WithProductionArgon2())
	ctx := context.Background()
	p := auth.ProductionArgon2
	hash, err := auth.HashPassword(brokertest.Password, p)
	if err != nil {
		b.Fatal(err)
	}
	const sustained, arrivals = 120, 200
	users := make([]brokertest.User, sustained+arrivals)
	secret := "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"
	for i := range users {
		// Accounts are written with one precomputed production-cost hash:
		// hashing 320 of them would only slow the setup.
		id := fmt.Sprintf("bench%04d", i)
		rec := auth.UserRecord{User: api.User{ID: id, Name: id, Roles: []api.Role{api.RoleStaff}, CreatedAt: br.Now()}, PasswordHash: hash}
		if err := br.Store.Auth().CreateUser(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if err := br.Services.Auth.SetTOTPSecret(ctx, id, secret, false); err != nil {
			b.Fatal(err)
		}
		users[i] = brokertest.User{ID: id, Password: brokertest.Password, TOTPSecret: secret}
	}
	login := func(u brokertest.User) (time.Duration, error) {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		c := br.Client(b)
		start := time.Now()
		_, err := c.Login(ctx, api.LoginRequest{StaffID: u.ID, Password: u.Password, OTP: br.Code(b, u),
			Device: api.DeviceInfo{Name: "bench", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}})
		return time.Since(start), err
	}
	b.ResetTimer()

	// Sustained rate: as many logins as the broker takes, 8 at a time.
	var wg sync.WaitGroup
	next := make(chan brokertest.User)
	var errs sync.Map
	start := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				if _, err := login(u); err != nil {
					errs.Store(u.ID, err)
				}
			}
		}()
	}
	for _, u := range users[:sustained] {
		next <- u
	}
	close(next)
	wg.Wait()
	rate := float64(sustained) / time.Since(start).Seconds()

	// Open-loop arrivals at 10/s.
	lat := make([]time.Duration, arrivals)
	tick := time.NewTicker(100 * time.Millisecond)
	for i, u := range users[sustained:] {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := login(u)
			if err != nil {
				errs.Store(u.ID, err)
			}
			lat[i] = d
		}()
	}
	tick.Stop()
	wg.Wait()
	b.StopTimer()
	errs.Range(func(k, v any) bool { b.Fatalf("login %s: %v", k, v); return false })
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	fmt.Printf("BENCH auth.argon2_mem_kib %d KiB\n", p.MemoryKiB)
	fmt.Printf("BENCH auth.argon2_time %d passes\n", p.Time)
	fmt.Printf("BENCH auth.argon2_threads %d threads\n", p.Threads)
	fmt.Printf("BENCH auth.cores %d cores\n", runtime.NumCPU())
	fmt.Printf("BENCH auth.logins_per_s %.3g logins/s target>=10\n", rate)
	fmt.Printf("BENCH auth.login_p99 %.3g s target<=0.5\n", p99.Seconds())
	fmt.Printf("BENCH auth.login_p50 %.3g s\n", lat[len(lat)/2].Seconds())
}
