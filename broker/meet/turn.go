package meet

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
)

// turnRealm names the broker's TURN credentials.
const turnRealm = "zaitaku"

// startTURN runs the embedded TURN server on the configured TCP
// listener, and over TLS on the TLS one, for browsers that cannot send
// UDP to the broker (a city hall firewall, a hotel network; one that
// lets only TLS out): media comes in over TCP and the relay hands it to
// the SFU's UDP port on the same machine.
//
// It is no open relay. A browser gets credentials only with a welcome on
// a signalling socket (they end when it leaves), and an allocation can
// reach nothing but the broker's own media port, whichever listener it
// came in on.
func (s *Service) startTURN() error {
	relayIP := s.relayIP()
	media := s.mediaAddrs()
	listener := func(l net.Listener) turn.ListenerConfig {
		return turn.ListenerConfig{
			Listener: l,
			RelayAddressGenerator: &mediaOnly{
				RelayAddressGeneratorStatic: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: relayIP.String()},
				allowed:                     media,
			},
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				for _, a := range media {
					if a.IP.Equal(peer) {
						return true
					}
				}
				return false
			},
		}
	}
	var listeners []turn.ListenerConfig
	if s.cfg.TURN != nil {
		listeners = append(listeners, listener(s.cfg.TURN))
	}
	if s.cfg.TURNTLS != nil {
		listeners = append(listeners, listener(&tlsListener{Listener: s.cfg.TURNTLS, cfg: s.cfg.TLSConfig}))
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         turnRealm,
		LoggerFactory: logging.NewDefaultLoggerFactory(),
		AuthHandler: func(username, realm string, _ net.Addr) ([]byte, bool) {
			s.mu.Lock()
			defer s.mu.Unlock()
			pw, ok := s.turnUsers[username]
			if !ok {
				return nil, false
			}
			return turn.GenerateAuthKey(username, realm, pw), true
		},
		ListenerConfigs: listeners,
	})
	if err != nil {
		return err
	}
	s.turn = srv
	return nil
}

// tlsHandshakeTimeout bounds how long a connection to TURN over TLS may
// take to say hello: the port is open to anyone (on 443, every scanner),
// and one that never finishes its handshake must not hold a goroutine.
const tlsHandshakeTimeout = 10 * time.Second

// tlsListener serves TLS on l. pion's TURN server reads each connection
// in a goroutine of its own, so the handshake is done there, on the
// first read, and never holds up Accept.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsConn{Conn: tls.Server(c, l.cfg)}, nil
}

type tlsConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *tlsConn) Read(b []byte) (int, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		defer cancel()
		c.err = c.HandshakeContext(ctx)
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

// relayIP is the address relayed media leaves from and the SFU answers
// to: the media port's own address when it is bound to one, else the
// first address the media port announces.
func (s *Service) relayIP() net.IP {
	if s.cfg.RelayIP != nil {
		return s.cfg.RelayIP
	}
	if ua, ok := s.cfg.UDP.LocalAddr().(*net.UDPAddr); ok && ua.IP != nil && !ua.IP.IsUnspecified() {
		return ua.IP
	}
	for _, a := range s.mediaAddrs() {
		if !a.IP.IsLoopback() {
			return a.IP
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

// mediaAddrs are the addresses of the SFU's media port, as candidates
// announce them.
func (s *Service) mediaAddrs() []*net.UDPAddr {
	var out []*net.UDPAddr
	port := s.cfg.UDP.LocalAddr().(*net.UDPAddr).Port
	for _, a := range s.mux.GetListenAddresses() {
		if ua, ok := a.(*net.UDPAddr); ok {
			out = append(out, &net.UDPAddr{IP: ua.IP, Port: port})
		}
	}
	for _, ip := range s.cfg.PublicIPs {
		if p := net.ParseIP(ip); p != nil {
			out = append(out, &net.UDPAddr{IP: p, Port: port})
		}
	}
	return out
}

// turnCredentials makes a participant's TURN username and password; they
// are good until dropTURN.
func (s *Service) turnCredentials(participant string) (user, pass string) {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	user, pass = "p-"+participant, base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.turnUsers[user] = pass
	s.mu.Unlock()
	return user, pass
}

func (s *Service) dropTURN(user string) {
	s.mu.Lock()
	delete(s.turnUsers, user)
	s.mu.Unlock()
}

// turnURLs are how a browser that reached the broker at host finds
// TURN: over TCP, then over TLS. The TLS one names the same host, which
// the broker's certificate covers as it does for the page.
func (s *Service) turnURLs(host string) []string {
	var urls []string
	if s.cfg.TURN != nil {
		port := s.cfg.TURN.Addr().(*net.TCPAddr).Port
		if s.cfg.TURNPort != 0 {
			port = s.cfg.TURNPort
		}
		urls = append(urls, "turn:"+net.JoinHostPort(host, strconv.Itoa(port))+"?transport=tcp")
	}
	if s.cfg.TURNTLS != nil {
		port := s.cfg.TURNTLS.Addr().(*net.TCPAddr).Port
		urls = append(urls, "turns:"+net.JoinHostPort(host, strconv.Itoa(port))+"?transport=tcp")
	}
	return urls
}

// mediaOnly allocates relays that send only to the SFU's media port.
type mediaOnly struct {
	*turn.RelayAddressGeneratorStatic
	allowed []*net.UDPAddr
}

func (g *mediaOnly) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	c, a, err := g.RelayAddressGeneratorStatic.AllocatePacketConn(network, port)
	if err != nil {
		return nil, nil, err
	}
	return &toMedia{PacketConn: c, allowed: g.allowed}, a, nil
}

type toMedia struct {
	net.PacketConn
	allowed []*net.UDPAddr
}

// WriteTo drops what is not for the media port, as a relay must do for a
// peer it has no permission for.
func (c *toMedia) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if ok {
		for _, m := range c.allowed {
			if m.Port == ua.Port && m.IP.Equal(ua.IP) {
				return c.PacketConn.WriteTo(b, addr)
			}
		}
	}
	return len(b), nil
}

// TURNAddr is where the embedded TURN server listens over TCP (nil:
// it does not).
func (s *Service) TURNAddr() net.Addr {
	if s.cfg.TURN == nil {
		return nil
	}
	return s.cfg.TURN.Addr()
}

// TURNTLSAddr is where the embedded TURN server listens over TLS (nil:
// it does not).
func (s *Service) TURNTLSAddr() net.Addr {
	if s.cfg.TURNTLS == nil {
		return nil
	}
	return s.cfg.TURNTLS.Addr()
}
