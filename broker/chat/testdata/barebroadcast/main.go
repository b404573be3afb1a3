// Command barebroadcast is the baseline of the chat benchmark: a
// coder/websocket server over TLS that broadcasts each published message
// to its group's sockets, one writer goroutine per socket, with no
// storage, no authentication and no sequence numbers. A client joins a
// group with GET /ws?g=NAME (every socket is also in group "all"); the
// benchmark publishes with POST /publish?g=NAME and the text as the body.
// Each message is encoded once, as an event frame of the broker's shape,
// whatever the number of sockets. It prints its address, then runs until
// killed.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// queue bounds what a slow socket may fall behind, as the broker's.
const queue = 512

type sock struct{ c chan []byte }

type server struct {
	mu     sync.Mutex
	groups map[string]map[*sock]struct{}
	seq    int64
}

func (s *server) join(g string, k *sock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range []string{g, "all"} {
		m := s.groups[name]
		if m == nil {
			m = map[*sock]struct{}{}
			s.groups[name] = m
		}
		m[k] = struct{}{}
	}
}

func (s *server) leave(g string, k *sock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups[g], k)
	delete(s.groups["all"], k)
}

func (s *server) ws(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	k := &sock{c: make(chan []byte, queue)}
	g := r.URL.Query().Get("g")
	s.join(g, k)
	defer s.leave(g, k)
	// Read to answer pings and see the close, as the broker does.
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusGoingAway, "")
			return
		case b := <-k.c:
			wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			wcancel()
			if err != nil {
				return
			}
		}
	}
}

type message struct {
	Channel string    `json:"channel"`
	Seq     int64     `json:"seq"`
	Kind    string    `json:"kind"`
	Sender  string    `json:"sender"`
	Key     string    `json:"key"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

type event struct {
	Seq  int64     `json:"seq"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	Data message   `json:"data"`
}

func (s *server) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 128<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g := r.URL.Query().Get("g")
	now := time.Now()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	b, _ := json.Marshal(event{Type: "chat.message", At: now, Data: message{Channel: g, Seq: seq, Kind: "message",
		Sender: r.URL.Query().Get("from"), Key: r.URL.Query().Get("key"), Text: string(body), At: now}})
	s.mu.Lock()
	for k := range s.groups[g] {
		select {
		case k.c <- b:
		default: // behind: dropped, as the broker cuts such a socket
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "barebroadcast"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	s := &server{groups: map[string]map[*sock]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.ws)
	mux.HandleFunc("POST /publish", s.publish)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	fmt.Println(ln.Addr().String())
	fail(srv.ServeTLS(ln, "", ""))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
