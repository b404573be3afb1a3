package chat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// words of a municipal office's day; the corpus strings them together
// without spaces, as Japanese is written.
var words = strings.Fields(`市役所 打ち合わせ 上海 会議 税務課 住民票 申請書 確認 予算 資料 提出 窓口 対応 来週 明日
	午後 連絡 福祉 子育て 支援 課長 承認 在宅 勤務 庁舎 防災 訓練 選挙 準備 議会 答弁 作成 固定資産税 納付 督促
	国民健康保険 介護 保険料 図書館 公民館 道路 補修 工事 入札 契約 広報 掲載 原稿 の を に と で は が から まで との
	について です ます した お願いします よろしく 至急 本日 午前 担当 変更 延期 中止 再開 会場 予約 名簿 集計`)

// corpusText is one message: 3 to 12 words, unspaced.
func corpusText(rnd *rand.Rand) string {
	var b strings.Builder
	for range 3 + rnd.IntN(10) {
		b.WriteString(words[rnd.IntN(len(words))])
	}
	return b.String()
}

// planted is a string of katakana, which the corpus never uses, so that
// each one is found exactly where it was put.
func planted(rnd *rand.Rand, n int) string {
	r := make([]rune, n)
	for i := range r {
		r[i] = rune(0x30A1 + rnd.IntN(0x30F6-0x30A1))
	}
	return string(r)
}

type corpusMsg struct {
	channel string
	seq     int64
	text    string
	deleted bool
}

// TestChatSearchJapanese plants unspaced substrings of two to eight
// characters in a generated Japanese corpus and checks that search finds
// every message holding each of them, newest first, with the match
// marked — three characters or more through the trigram index, one or
// two by the exact scan — and nothing of a channel the searcher is not in,
// which holds the same strings.
func TestChatSearchJapanese(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	alice, bob, channels := threeChannels(t, b)
	carol := b.Signin(t, "carol")
	b.CreateUser(t, "dave")
	moveTo(t, b, "carol", "税務課")
	moveTo(t, b, "dave", "税務課")
	outside, err := carol.ChatCreateGroup(ctx, api.ChatCreateGroup{Name: "税務課だけ", Members: []string{"dave"}})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(13, 13))
	st := b.Store.Chat()
	var all []corpusMsg // in the order stored: newest last
	add := func(channel, sender, text string) {
		m, _, err := st.Append(ctx, api.ChatMessage{Channel: channel, Kind: api.ChatKindMessage, Sender: sender,
			Key: fmt.Sprint("s", len(all)), Text: text, At: b.Now()})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, corpusMsg{channel: channel, seq: m.Seq, text: text})
	}
	var plants []string
	for n := 2; n <= 8; n++ {
		for range 6 {
			plants = append(plants, planted(rnd, n))
		}
	}
	plants = append(plants, "市役所との") // the example, inside 上海市役所との打ち合わせ
	const corpus = 3000
	for i := range corpus {
		ch := channels[i%3]
		text := corpusText(rnd)
		if i%10 == 0 {
			// Every tenth message carries a plant, unspaced, inside.
			p := plants[(i/10)%len(plants)]
			cut := rnd.IntN(len([]rune(text)) + 1)
			text = string([]rune(text)[:cut]) + p + string([]rune(text)[cut:])
		}
		if i == 1500 {
			text = "上海市役所との打ち合わせ"
		}
		add(ch, "alice", text)
		if i%3 == 0 {
			// The outside channel holds the same strings.
			add(outside.ID, "carol", text)
		}
	}
	// Some go: a deleted message and an edited one are found by their
	// current text only.
	for _, i := range []int{10, 20} {
		m := all[i]
		if _, err := alice.ChatDelete(ctx, m.channel, m.seq); err != nil {
			t.Fatal(err)
		}
		all[i].deleted = true
	}
	edit := all[30]
	if _, err := alice.ChatEdit(ctx, edit.channel, edit.seq, api.ChatEditRequest{Key: "edit-30", Text: "差し替え後のゼヒョ文"}); err != nil {
		t.Fatal(err)
	}
	all[30].text = "差し替え後のゼヒョ文"

	// The queries: every plant, the edit, and substrings cut at random
	// from the corpus, one to eight characters long.
	queries := append([]string{"ゼヒョ", "上海", "海", "市役所"}, plants...)
	for range 40 {
		m := all[rnd.IntN(len(all))]
		r := []rune(m.text)
		n := 1 + rnd.IntN(8)
		if n > len(r) {
			continue
		}
		at := rnd.IntN(len(r) - n + 1)
		queries = append(queries, string(r[at:at+n]))
	}
	const limit = 100
	checked, outsideHeld := 0, 0
	for _, q := range queries {
		var want []corpusMsg
		heldOutside := false
		for i := len(all) - 1; i >= 0; i-- {
			m := all[i]
			if m.deleted || !strings.Contains(m.text, q) {
				continue
			}
			if m.channel == outside.ID {
				heldOutside = true
				continue
			}
			want = append(want, m)
		}
		if heldOutside {
			outsideHeld++
		}
		if len(want) > limit {
			want = want[:limit]
		}
		var res api.ChatSearchResult
		if err := bob.Do(ctx, "GET", "/v1/chat/search?"+url.Values{"q": {q}, "limit": {fmt.Sprint(limit)}}.Encode(), nil, &res); err != nil {
			t.Fatalf("search %s: %v", q, err)
		}
		if res.Partial {
			t.Errorf("search %s: partial over %d messages", q, len(all))
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, fmt.Sprintf("%s/%d", h.Message.Channel, h.Message.Seq))
			if h.Message.Channel == outside.ID {
				t.Errorf("search %s found a message of a channel bob is not in", q)
			}
			if len(h.Spans) == 0 {
				t.Errorf("search %s: %s/%d has no marked match", q, h.Message.Channel, h.Message.Seq)
			}
			r := []rune(h.Message.Text)
			for _, s := range h.Spans {
				if string(r[s.Start:s.End]) != q {
					t.Errorf("search %s: span %v marks %q", q, s, string(r[s.Start:s.End]))
				}
			}
		}
		var wantIDs []string
		for _, m := range want {
			wantIDs = append(wantIDs, fmt.Sprintf("%s/%d", m.channel, m.seq))
		}
		if !slices.Equal(got, wantIDs) {
			t.Errorf("search %q (%d characters): %d hits, want %d (first %v, want %v)", q, len([]rune(q)), len(got), len(wantIDs),
				first(got), first(wantIDs))
		}
		if len(want) == 0 {
			t.Errorf("search %q: the corpus holds it nowhere bob can see; the test plants it", q)
		}
		checked++
	}
	if outsideHeld < len(plants)/2 {
		t.Errorf("only %d queries were also held by the outside channel: the test proves little", outsideHeld)
	}
	t.Logf("%d messages (%d in a channel the searcher is not in), %d queries of 1 to 8 characters all exact; %d of them also held outside, never found there",
		len(all), len(all)-corpus, checked, outsideHeld)
}

func first(s []string) []string {
	return s[:min(len(s), 3)]
}
