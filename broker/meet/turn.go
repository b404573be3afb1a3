package meet

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"strconv"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
)

// turnRealm names the broker's TURN credentials.
const turnRealm = "zaitaku"

// startTURN runs the embedded TURN server on the configured TCP
// listener, for browsers that cannot send UDP to the broker (a city hall
// firewall, a hotel network): media comes in over TCP and the relay
// hands it to the SFU's UDP port on the same machine.
//
// It is no open relay. A browser gets credentials only with a welcome on
// a signalling socket (they end when it leaves), and an allocation can
// reach nothing but the broker's own media port.
func (s *Service) startTURN() error {
	relayIP := s.relayIP()
	media := s.mediaAddrs()
	gen := &mediaOnly{
		RelayAddressGeneratorStatic: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: relayIP.String()},
		allowed:                     media,
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
		ListenerConfigs: []turn.ListenerConfig{{
			Listener:              s.cfg.TURN,
			RelayAddressGenerator: gen,
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				for _, a := range media {
					if a.IP.Equal(peer) {
						return true
					}
				}
				return false
			},
		}},
	})
	if err != nil {
		return err
	}
	s.turn = srv
	return nil
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

// turnURL is how a browser that reached the broker at host finds TURN.
func (s *Service) turnURL(host string) string {
	port := s.cfg.TURN.Addr().(*net.TCPAddr).Port
	if s.cfg.TURNPort != 0 {
		port = s.cfg.TURNPort
	}
	return "turn:" + net.JoinHostPort(host, strconv.Itoa(port)) + "?transport=tcp"
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

// TURNAddr is where the embedded TURN server listens (nil: none).
func (s *Service) TURNAddr() net.Addr {
	if s.cfg.TURN == nil {
		return nil
	}
	return s.cfg.TURN.Addr()
}
