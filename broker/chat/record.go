package chat

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/csvexport"
)

// Purge deletes entries past the policy's retention.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	days := s.Policy(ctx).RetentionDays
	return s.st.PurgeChat(ctx, s.now().Add(-time.Duration(days)*24*time.Hour))
}

// AdminChannels lists every channel with its members (for IT).
func (s *Service) AdminChannels(ctx context.Context) (api.ChatChannelList, error) {
	cs, err := s.st.ListChannels(ctx)
	if err != nil {
		return api.ChatChannelList{}, err
	}
	out := api.ChatChannelList{Channels: make([]api.ChatChannel, 0, len(cs))}
	for _, c := range cs {
		v, err := s.view(ctx, ChannelState{Channel: c}, true)
		if err != nil {
			return out, err
		}
		out.Channels = append(out.Channels, v)
	}
	return out, nil
}

// exportColumns are the CSV's columns: Japanese by default, as IT and
// the inquiry read them.
var exportColumns = []csvexport.Column{
	{JA: "チャンネル", EN: "Channel"}, {JA: "連番", EN: "Sequence"}, {JA: "種別", EN: "Kind"}, {JA: "送信者ID", EN: "Sender ID"},
	{JA: "日時", EN: "Time", Time: true}, {JA: "本文", EN: "Text"}, {JA: "返信先", EN: "Reply to"},
	{JA: "対象の連番", EN: "Target sequence"}, {JA: "編集日時", EN: "Edited", Time: true}, {JA: "削除", EN: "Deleted"},
}

// exportKinds word each entry's kind: Japanese, English.
var exportKinds = map[string][2]string{api.ChatKindMessage: {"発言", "message"}, api.ChatKindEdit: {"編集", "edit"},
	api.ChatKindDelete: {"削除", "delete"}, "revision": {"編集前の本文", "earlier text"}}

func kindCell(o csvexport.Options, k string) string {
	return o.Label(exportKinds[k][0], exportKinds[k][1])
}

// exportPage is how many entries each read of an export fetches.
const exportPage = 1000

// Export writes a channel's whole record, earlier texts of edited and
// deleted messages included, as CSV (csvexport: UTF-8 with a BOM, for
// Excel; Japanese and JST unless o asks for English or UTC) and
// records who took it and why. It returns the rows written.
func (s *Service) Export(ctx context.Context, actor, id, reason string, o csvexport.Options, w io.Writer) (int, error) {
	reason = strings.TrimSpace(reason)
	if e := api.CheckText("reason", reason, 500); e != nil {
		return 0, e
	}
	if reason == "" {
		return 0, api.Err(api.CodeValidation, "reason: the inquiry this export is for")
	}
	c, err := s.st.GetChannel(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, api.Err(api.CodeChatNoChannel)
		}
		return 0, err
	}
	cw, err := csvexport.New(w, o, exportColumns)
	if err != nil {
		return 0, err
	}
	name := c.Name
	if c.Kind == api.ChatDirect {
		name = c.DirectKey
	}
	n := 0
	for after := int64(0); ; {
		ms, err := s.st.After(ctx, id, after, exportPage)
		if err != nil {
			return n, err
		}
		for _, m := range ms {
			if err := cw.Write([]string{name, strconv.FormatInt(m.Seq, 10), kindCell(o, m.Kind), m.Sender, cw.Time(m.At),
				m.Text, seqCell(m.ReplyTo), seqCell(m.Target), cw.Time(m.EditedAt), deletedCell(o, m)}); err != nil {
				return n, err
			}
			n++
			if m.Kind == api.ChatKindMessage && (m.Deleted || !m.EditedAt.IsZero()) {
				revs, err := s.st.Revisions(ctx, id, m.Seq)
				if err != nil {
					return n, err
				}
				for _, r := range revs {
					if err := cw.Write([]string{name, strconv.FormatInt(m.Seq, 10), kindCell(o, "revision"), m.Sender,
						cw.Time(m.At), r.Text, "", "", cw.Time(r.Replaced), ""}); err != nil {
						return n, err
					}
					n++
				}
			}
			after = m.Seq
		}
		if err := cw.Flush(); err != nil {
			return n, err
		}
		if len(ms) < exportPage {
			break
		}
	}
	// Who took a copy of a conversation, and why, is itself on record.
	s.record(ctx, actor, "admin.chat_exported", id, "rows", strconv.Itoa(n), "reason", reason, "csv", o.String())
	return n, nil
}

// deletedCell marks a deleted message; when it went is the time of its
// delete entry, a row of its own.
func deletedCell(o csvexport.Options, m api.ChatMessage) string {
	if m.Deleted {
		return o.Label("削除済み", "deleted")
	}
	return ""
}

func seqCell(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
