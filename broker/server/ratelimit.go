package server

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/netaddr"
)

// Per-source rate limits on sign-in and refresh. A probe made 818 sign-in
// attempts in 20 s from one address; each costs an argon2 hash. A token
// bucket per source address bounds that. Sign-ins that prove an enrolled
// device key are exempt (auth.DeviceProven): staff of a satellite office
// share one address, and their laptops must not be throttled together
// because one of them, or an attacker, tries too often. Such sign-ins are
// bounded instead by their own per-laptop lockout.

// Rate is a per-source limit: N requests at once, refilled at N per Per.
// The zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// ParseRate reads "N/duration" (e.g. "20/1m": 20 at once, then one every
// 3 s), or "off" / "0" for no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || strings.EqualFold(s, "off") {
		return Rate{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 0 {
		return Rate{}, fmt.Errorf("rate %q: want N/duration, e.g. 20/1m, or off", s)
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want N/duration, e.g. 20/1m, or off", s)
	}
	return Rate{N: n, Per: d}, nil
}

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.5, 192.0.2.0/24").
func ParseProxies(s string) ([]netip.Prefix, error) {
	out, err := netaddr.ParsePrefixes(s)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	return out, nil
}

// RateLimits are the per-source limits and whom to believe about the source.
type RateLimits struct {
	Login, Refresh Rate
	// Guest bounds guests' knocks and lobby connections (public routes
	// whose bearer secret could be guessed at). Zero: DefaultGuestRate;
	// it is never off.
	Guest Rate
	// TrustedProxies are the reverse proxies in front of the broker. Only
	// for a request that arrives from one of them is X-Forwarded-For read
	// (anyone else could write any address there).
	TrustedProxies []netip.Prefix
	// MaxSources bounds the addresses tracked per limit (default 10,000).
	MaxSources int
}

// DefaultGuestRate is 20 knocks at once, then one every 3 s, per source:
// a satellite office's guests share one address but arrive one by one.
var DefaultGuestRate = Rate{N: 20, Per: time.Minute}

type limits struct {
	login, refresh, guest *limiter
	proxies               []netip.Prefix
}

func newLimits(c RateLimits, now func() time.Time) *limits {
	if c.MaxSources <= 0 {
		c.MaxSources = 10_000
	}
	if c.Guest.Off() {
		c.Guest = DefaultGuestRate
	}
	return &limits{login: newLimiter(c.Login, c.MaxSources, now), refresh: newLimiter(c.Refresh, c.MaxSources, now),
		guest:   newLimiter(c.Guest, c.MaxSources, now),
		proxies: c.TrustedProxies}
}

// limiter is a token bucket per source address, in a bounded map.
type limiter struct {
	rate Rate
	max  int
	now  func() time.Time

	mu      sync.Mutex // guards buckets and overflow
	buckets map[netip.Addr]*bucket
	// overflow is shared by new sources once the map is full of sources
	// still paying off their attempts: a flood from many addresses is
	// then throttled as one, and memory stays bounded.
	overflow bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(r Rate, max int, now func() time.Time) *limiter {
	if r.Off() {
		return nil
	}
	return &limiter{rate: r, max: max, now: now, buckets: map[netip.Addr]*bucket{}, overflow: bucket{tokens: float64(r.N)}}
}

// take spends one token of src's bucket; if there is none it returns how
// long until there is one.
func (l *limiter) take(src netip.Addr) time.Duration {
	if l == nil {
		return 0
	}
	key := sourceKey(src)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		if len(l.buckets) >= l.max {
			b = &l.overflow
		} else {
			b = &bucket{tokens: float64(l.rate.N), at: now}
			l.buckets[key] = b
		}
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	perToken := l.rate.Per / time.Duration(l.rate.N)
	return time.Duration((1 - b.tokens) * float64(perToken))
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(float64(l.rate.N), b.tokens+float64(el)/float64(l.rate.Per)*float64(l.rate.N))
	}
	b.at = now
}

// evict drops the buckets that have refilled: a full bucket is the same
// as none.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.rate.N) {
			delete(l.buckets, k)
		}
	}
}

// sourceKey is the unit a limit applies to: an IPv4 address, or an IPv6
// /64 (one subscriber's network; anyone holding one has all of it).
func sourceKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a.Unmap()
}

// source is the address a request comes from: the peer, or, when the peer
// is a trusted proxy, the nearest address in X-Forwarded-For that is not
// one of our proxies (read from the right: the left part is whatever the
// client wrote).
func (s *Server) source(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.limits.trusted(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: the last proxy seen is the best we know
		}
		a = a.Unmap()
		if !s.limits.trusted(a) {
			return a
		}
		addr = a
	}
	return addr
}

func (l *limits) trusted(a netip.Addr) bool {
	for _, p := range l.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// throttle spends one attempt of the caller's source on l, or refuses
// with 429 and Retry-After. what names the attempts in the message.
func (s *Server) throttle(c *call, l *limiter, whatEN, whatJA string) error {
	wait := l.take(s.source(c.R))
	if wait <= 0 {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	e := api.Errf(api.CodeRateLimited, "too many %s from this network address; wait %d s", whatEN, secs)
	e.DetailJA = fmt.Sprintf("このネットワークアドレスからの%sが多すぎます。%d秒待ってください。", whatJA, secs)
	e.RetryAfter = secs
	return e
}
