//go:build ignore

// gen renders the PNGs the app embeds from the SVG sources: app.png (512,
// for packaging), app-128.png (window and About: small enough to decode in
// no time at start) and tray-*.png (64, so the tray needs no SVG rasteriser
// at start). Run: go run gen.go
package main

import (
	"flag"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/srwiley/oksvg"
	"github.com/srwiley/rasterx"
)

func render(src, dst string, size int) {
	icon, err := oksvg.ReadIcon(src, oksvg.StrictErrorMode)
	if err != nil {
		log.Fatalf("%s: %v", src, err)
	}
	icon.SetTarget(0, 0, float64(size), float64(size))
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	icon.Draw(rasterx.NewDasher(size, size, rasterx.NewScannerGV(size, size, img, img.Bounds())), 1)
	f, err := os.Create(dst)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
}

func main() {
	flag.Parse()
	render("app.svg", "app.png", 512)
	render("app.svg", "app-128.png", 128)
	svgs, _ := filepath.Glob("tray-*.svg")
	for _, s := range svgs {
		render(s, strings.TrimSuffix(s, ".svg")+".png", 64)
	}
}
