package font

import (
	"bytes"
	"testing"

	gofont "github.com/go-text/typesetting/font"
)

// TestJapaneseBoldIsABoldJapaneseFace: what the theme gets parses as one
// font (not a collection), is bold, and has kana and kanji.
func TestJapaneseBoldIsABoldJapaneseFace(t *testing.T) {
	data, err := JapaneseBold()
	if err != nil {
		t.Fatalf("%v: install the Debian package \"fonts-noto-cjk\" (make deps)", err)
	}
	f, err := gofont.ParseTTF(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a single OpenType font: %v", err)
	}
	d := f.Describe()
	if d.Aspect.Weight < gofont.WeightBold {
		t.Errorf("%s weight %v, want bold", d.Family, d.Aspect.Weight)
	}
	for _, r := range "総務課あア" {
		if _, ok := f.NominalGlyph(r); !ok {
			t.Errorf("%s has no glyph for %q", d.Family, r)
		}
	}
	t.Logf("%s, %.1f MB", d.Family, float64(len(data))/1e6)
}

func TestSingleKeepsAPlainFont(t *testing.T) {
	plain := append([]byte("OTTO"), make([]byte, 20)...)
	out, err := Single(plain, 0)
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("a single font changed: %v", err)
	}
	if _, err := Single(plain, 1); err == nil {
		t.Fatal("face 1 of a single font")
	}
}
