package terminal

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Network segments (三層分離). A PC in the My Number segment
// (個人番号利用事務系) is never reachable from home: only from the source
// address ranges IT registers as satellite offices. See "Network
// segments" in ARCHITECTURE.md.

// maxRanges bounds one office's ranges (an office has a few lines).
const maxRanges = 32

// checkSegment defaults and checks a PC's segment (called by normalize).
func checkSegment(t *api.Terminal) error {
	if t.Segment == "" {
		t.Segment = api.SegmentLGWAN
	}
	if !slices.Contains(api.Segments, t.Segment) {
		return api.Err(api.CodeValidation, "segment: lgwan, mynumber or internet")
	}
	if t.Segment == api.SegmentMyNumber && t.Pool {
		// A pool PC goes to whoever asks; My Number work is done on the
		// PC of the person it is assigned to.
		return api.Err(api.CodeValidation, "segment: a My Number PC is paired with one person, not in the shared pool")
	}
	return nil
}

// SetSegment moves a PC to another segment, with the reason recorded.
func (s *Service) SetSegment(ctx context.Context, actor, id string, req api.SetSegmentRequest) (api.Terminal, error) {
	reason := strings.TrimSpace(req.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		return api.Terminal{}, api.Err(api.CodeValidation, "reason: 1 to 200 characters (why the PC changes segment)")
	}
	if e := api.CheckText("reason", reason, 800); e != nil {
		return api.Terminal{}, e
	}
	var from string
	t, err := s.st.UpdateTerminal(ctx, id, func(t *api.Terminal) error {
		from = t.Segment
		t.Segment = req.Segment
		if req.Segment == "" {
			return api.Err(api.CodeValidation, "segment: lgwan, mynumber or internet")
		}
		t.UpdatedAt = s.now()
		return normalize(t)
	})
	if err != nil {
		return api.Terminal{}, storeErr(err, id, "")
	}
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.terminal_segment_set", Target: id,
		Fields: map[string]string{"from": from, "to": t.Segment, "reason": reason}}); err != nil {
		return t, err
	}
	s.changed(ctx)
	return s.withSeen(t), nil
}

// SatelliteOffices lists the satellite offices.
func (s *Service) SatelliteOffices(ctx context.Context) ([]api.SatelliteOffice, error) {
	list, err := s.st.ListSatelliteOffices(ctx)
	if list == nil {
		list = []api.SatelliteOffice{}
	}
	return list, err
}

// PutSatelliteOffice creates or replaces a satellite office.
func (s *Service) PutSatelliteOffice(ctx context.Context, actor, id string, req api.PutSatelliteOfficeRequest) (api.SatelliteOffice, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !idRE.MatchString(id) {
		return api.SatelliteOffice{}, api.Err(api.CodeValidation, "id: lower-case letters, digits, '.', '_' or '-', at most 64")
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return api.SatelliteOffice{}, api.Err(api.CodeValidation, "name: 1 to 100 characters")
	}
	if e := api.CheckText("name", name, 400); e != nil {
		return api.SatelliteOffice{}, e
	}
	if len(req.Ranges) == 0 || len(req.Ranges) > maxRanges {
		return api.SatelliteOffice{}, api.Errf(api.CodeValidation, "ranges: 1 to %d address ranges, e.g. 192.0.2.0/28", maxRanges)
	}
	var ranges []string
	for i, r := range req.Ranges {
		p, err := parseRange(r)
		if err != nil {
			return api.SatelliteOffice{}, api.Errf(api.CodeValidation, "ranges[%d]: %s", i, err.Error())
		}
		ranges = append(ranges, p.String())
	}
	slices.Sort(ranges)
	ranges = slices.Compact(ranges)
	now := s.now()
	o, err := s.st.PutSatelliteOffice(ctx, api.SatelliteOffice{ID: id, Name: name, Ranges: ranges, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return api.SatelliteOffice{}, err
	}
	if err := s.audit.Record(ctx, audit.Event{At: now, Actor: actor, Action: "admin.satellite_office_set", Target: id,
		Fields: map[string]string{"name": name, "ranges": strings.Join(ranges, ",")}}); err != nil {
		return o, err
	}
	return o, nil
}

// parseRange reads a CIDR prefix, or one address as a prefix of its own.
func parseRange(r string) (netip.Prefix, error) {
	r = strings.TrimSpace(r)
	p, err := netip.ParsePrefix(r)
	if err != nil {
		a, aerr := netip.ParseAddr(r)
		if aerr != nil {
			return p, errors.New("not an address range; write it as 192.0.2.0/28 or one address")
		}
		p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked()
	// Eight bits of IPv4 or 32 of IPv6 is already a large provider's
	// network; anything wider is a mistake that would let homes in.
	if (p.Addr().Is4() && p.Bits() < 8) || (p.Addr().Is6() && p.Bits() < 32) {
		return p, errors.New("too wide: a satellite office's range is its own few addresses (e.g. /28), not a provider's network")
	}
	return p, nil
}

// DeleteSatelliteOffice removes a satellite office.
func (s *Service) DeleteSatelliteOffice(ctx context.Context, actor, id string) error {
	if err := s.st.DeleteSatelliteOffice(ctx, id); errors.Is(err, ErrNotFound) {
		return api.Errf(api.CodeNotFound, "no satellite office %q", id)
	} else if err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{At: s.now(), Actor: actor, Action: "admin.satellite_office_deleted", Target: id})
}

// CheckReach decides whether the user may reach office PC terminalID from
// source address src, at stage ("slot" when asking for a session,
// "tunnel" when opening the connection). Only My Number PCs are limited;
// for them both outcomes are recorded, so that the operation log shows
// from where each one was used and from where it was refused.
func (s *Service) CheckReach(ctx context.Context, userID, terminalID string, src netip.Addr, stage string) error {
	t, err := s.st.GetTerminal(ctx, terminalID)
	if err != nil {
		return storeErr(err, terminalID, "")
	}
	return s.CheckReachPC(ctx, userID, t, src, stage)
}

// CheckReachPC is CheckReach with the PC as the caller just read it (a
// slot request reads the user's paired PC anyway: one read, not two).
func (s *Service) CheckReachPC(ctx context.Context, userID string, t api.Terminal, src netip.Addr, stage string) error {
	if t.Segment != api.SegmentMyNumber {
		return nil
	}
	offices, err := s.st.ListSatelliteOffices(ctx)
	if err != nil {
		return err
	}
	src = src.Unmap()
	fields := map[string]string{"pc": t.ID, "segment": t.Segment, "source": src.String(), "stage": stage}
	for _, o := range offices {
		for _, r := range o.Ranges {
			if p, err := netip.ParsePrefix(r); err == nil && p.Contains(src) {
				fields["office"] = o.ID
				if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: userID, Action: "segment.reach_allowed", Target: t.ID, Fields: fields}); err != nil {
					// Unrecorded, the use of a My Number PC may not go ahead.
					return err
				}
				return nil
			}
		}
	}
	fields["reason"] = "not_satellite_office"
	if err := s.audit.Record(ctx, audit.Event{At: s.now(), Actor: userID, Action: "segment.reach_refused", Target: t.ID, Fields: fields}); err != nil {
		return err
	}
	e := api.Err(api.CodeSegmentRefused, "from "+src.String())
	e.DetailJA = "接続元: " + src.String()
	return e
}
