// Command mkicons makes the app's icon files for the packages from
// icons/app.png (512×512): a Windows .ico (PNG entries of 256, 64, 48, 32
// and 16 pixels, for the MSI's shortcuts and Add/Remove Programs) and the
// PNG sizes of the freedesktop hicolor theme for the Linux tarball. The
// executable's own icon resource is made by go-winres from the same PNG.
// Standard library only: a box filter is enough for downscaling by
// integer-ish factors of a flat icon.
//
//	go run ./packaging/mkicons -src icons/app.png -ico out/zaitaku.ico -hicolor out/hicolor -name jp.lg.zaitaku
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log"
	"os"
	"path/filepath"
)

var (
	icoSizes     = []int{256, 64, 48, 32, 16}
	hicolorSizes = []int{16, 32, 48, 64, 128, 256, 512}
)

func main() {
	src := flag.String("src", "icons/app.png", "source PNG (square)")
	ico := flag.String("ico", "", "write a Windows .ico here")
	hicolor := flag.String("hicolor", "", "write hicolor/NxN/apps/NAME.png under this directory")
	name := flag.String("name", "jp.lg.zaitaku", "icon name in the hicolor theme")
	flag.Parse()
	img, err := load(*src)
	if err != nil {
		log.Fatal(err)
	}
	if *ico != "" {
		if err := writeICO(*ico, img, icoSizes); err != nil {
			log.Fatal(err)
		}
	}
	if *hicolor != "" {
		for _, n := range hicolorSizes {
			dir := filepath.Join(*hicolor, fmt.Sprintf("%dx%d", n, n), "apps")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				log.Fatal(err)
			}
			b, err := encode(scale(img, n))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, *name+".png"), b, 0o644)
			}
			if err != nil {
				log.Fatal(err)
			}
		}
	}
}

func load(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := m.Bounds()
	if b.Dx() != b.Dy() {
		return nil, fmt.Errorf("%s: %dx%d is not square", path, b.Dx(), b.Dy())
	}
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), m, b.Min, draw.Src)
	return rgba, nil
}

// scale resizes src to n×n by averaging each destination pixel's area of
// source pixels. image.RGBA is alpha-premultiplied, so plain averages are
// right at transparent edges.
func scale(src *image.RGBA, n int) *image.RGBA {
	s := src.Bounds().Dx()
	if s == n {
		return src
	}
	dst := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		y0, y1 := y*s/n, max((y+1)*s/n, y*s/n+1)
		for x := range n {
			x0, x1 := x*s/n, max((x+1)*s/n, x*s/n+1)
			var sum [4]int
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					o := src.PixOffset(sx, sy)
					for c := range 4 {
						sum[c] += int(src.Pix[o+c])
					}
				}
			}
			cnt := (y1 - y0) * (x1 - x0)
			o := dst.PixOffset(x, y)
			for c := range 4 {
				dst.Pix[o+c] = uint8((sum[c] + cnt/2) / cnt)
			}
		}
	}
	return dst
}

func encode(m image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, m)
	return buf.Bytes(), err
}

// writeICO writes an icon directory whose entries are PNG images (read by
// Windows Vista and later).
func writeICO(path string, img *image.RGBA, sizes []int) error {
	var imgs [][]byte
	for _, n := range sizes {
		b, err := encode(scale(img, n))
		if err != nil {
			return err
		}
		imgs = append(imgs, b)
	}
	var out bytes.Buffer
	le := binary.LittleEndian
	_ = binary.Write(&out, le, [3]uint16{0, 1, uint16(len(sizes))}) // reserved, type icon, count
	offset := 6 + 16*len(sizes)
	for i, n := range sizes {
		dim := uint8(n) // 256 is written as 0
		_ = binary.Write(&out, le, struct {
			W, H, Colors, Reserved uint8
			Planes, BitCount       uint16
			Size, Offset           uint32
		}{dim, dim, 0, 0, 1, 32, uint32(len(imgs[i])), uint32(offset)})
		offset += len(imgs[i])
	}
	for _, b := range imgs {
		out.Write(b)
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
