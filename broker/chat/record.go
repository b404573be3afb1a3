package chat

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

// jst is the time zone of every municipality served: an export for an
// inquiry is read in local time.
var jst = time.FixedZone("JST", 9*60*60)

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

// exportHeader is the CSV header, in Japanese: IT and the inquiry read it.
var exportHeader = []string{"チャンネル", "連番", "種別", "送信者ID", "日時（日本時間）", "本文", "返信先", "対象の連番", "編集日時", "削除"}

var exportKinds = map[string]string{api.ChatKindMessage: "発言", api.ChatKindEdit: "編集", api.ChatKindDelete: "削除", "revision": "編集前の本文"}

// exportPage is how many entries each read of an export fetches.
const exportPage = 1000

// Export writes a channel's whole record, earlier texts of edited and
// deleted messages included, as CSV (UTF-8 with a BOM, for Excel) and
// records who took it and why. It returns the rows written.
func (s *Service) Export(ctx context.Context, actor, id, reason string, w io.Writer) (int, error) {
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
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	_ = cw.Write(exportHeader)
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
			if err := cw.Write([]string{cell(name), strconv.FormatInt(m.Seq, 10), exportKinds[m.Kind], cell(m.Sender), jstTime(m.At),
				cell(m.Text), seqCell(m.ReplyTo), seqCell(m.Target), jstTime(m.EditedAt), deletedCell(m)}); err != nil {
				return n, err
			}
			n++
			if m.Kind == api.ChatKindMessage && (m.Deleted || !m.EditedAt.IsZero()) {
				revs, err := s.st.Revisions(ctx, id, m.Seq)
				if err != nil {
					return n, err
				}
				for _, r := range revs {
					if err := cw.Write([]string{cell(name), strconv.FormatInt(m.Seq, 10), exportKinds["revision"], cell(m.Sender),
						jstTime(m.At), cell(r.Text), "", "", jstTime(r.Replaced), ""}); err != nil {
						return n, err
					}
					n++
				}
			}
			after = m.Seq
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
		if err := bw.Flush(); err != nil {
			return n, err
		}
		if len(ms) < exportPage {
			break
		}
	}
	// Who took a copy of a conversation, and why, is itself on record.
	s.record(ctx, actor, "admin.chat_exported", id, "rows", strconv.Itoa(n), "reason", reason)
	return n, nil
}

// deletedCell marks a deleted message; when it went is the time of its
// delete entry, a row of its own.
func deletedCell(m api.ChatMessage) string {
	if m.Deleted {
		return "削除済み"
	}
	return ""
}

func seqCell(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func jstTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jst).Format("2006-01-02 15:04:05")
}

// cell defuses values a spreadsheet would run as a formula: staff wrote
// them, and IT opens the export.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
