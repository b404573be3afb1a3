package server

// domains gathers each domain's dependencies. A domain adds one embedded
// struct here, declared in its own routes_<domain>.go, together with an
// init method called from initDomains and a routes method listed in
// routeTable.
type domains struct {
	authDomain
	oplogDomain
	relayDomain
	eventsDomain
	terminalsDomain
	slotsDomain
}

// initDomains wires each domain in dependency order.
func (s *Server) initDomains() error {
	for _, init := range []func() error{
		s.initOplog, // first: it provides the audit recorder
		s.initAuth,
		s.initRelay,
		s.initEvents,
		s.initTerminals,
		s.initSlots, // after relay: it grants the relay its targets
	} {
		if err := init(); err != nil {
			return err
		}
	}
	return nil
}
