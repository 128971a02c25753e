// Command icongen draws the guestpass Teams app icons: manifest/color.png (192×192, full colour) and
// manifest/outline.png (32×32, white on transparent). The mark is a visitor badge with a person on it.
//
// The icons are committed; this generator exists so they can be reproduced and changed deliberately:
//
//	go run ./internal/manifest/icongen -out manifest
//
// Drawing uses signed-distance shapes sampled on a fixed sub-pixel grid, so the output depends only on
// this file (no fonts, no external images) and is pixel-identical on every platform.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

const (
	// colorSize and outlineSize are the edge lengths the Teams manifest schema demands for the icons.
	colorSize   = 192
	outlineSize = 32

	// samples is the per-axis supersampling factor used for anti-aliasing (samples² per pixel).
	samples = 8
)

var (
	// accent is also the manifest's accentColor (#13776B); keep them in sync.
	accent = color.NRGBA{R: 0x13, G: 0x77, B: 0x6B, A: 0xFF}
	white  = color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	amber  = color.NRGBA{R: 0xFF, G: 0xB9, B: 0x00, A: 0xFF}
	// clear marks a layer that erases what is below it (used to cut holes in the outline icon).
	clear = color.NRGBA{}
)

// shape reports whether the point (x, y), in unit coordinates (0..1 across the icon), is inside.
type shape func(x, y float64) bool

// layer paints a shape in one colour; layers are composited in order.
type layer struct {
	shape shape
	color color.NRGBA
}

func roundRect(cx, cy, w, h, r float64) shape {
	return func(x, y float64) bool {
		qx := math.Abs(x-cx) - w/2 + r
		qy := math.Abs(y-cy) - h/2 + r
		outside := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
		inside := math.Min(math.Max(qx, qy), 0)
		return outside+inside-r <= 0
	}
}

func circle(cx, cy, r float64) shape {
	return func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= r }
}

// above keeps the part of s whose y is at most maxY (y grows downwards).
func above(s shape, maxY float64) shape {
	return func(x, y float64) bool { return y <= maxY && s(x, y) }
}

func union(shapes ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range shapes {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

// colorLayers is the 192×192 icon: a white visitor badge on the accent background, the person and the
// card slot cut in accent colour, and an amber "+" disc for "add a guest".
func colorLayers() (background color.NRGBA, layers []layer) {
	plus := union(
		roundRect(0.735, 0.775, 0.11, 0.03, 0.012),
		roundRect(0.735, 0.775, 0.03, 0.11, 0.012),
	)
	return accent, []layer{
		{roundRect(0.5, 0.53, 0.50, 0.62, 0.08), white},     // badge
		{roundRect(0.5, 0.30, 0.16, 0.036, 0.018), accent},  // lanyard slot
		{circle(0.5, 0.455, 0.085), accent},                 // head
		{above(circle(0.5, 0.70, 0.145), 0.655), accent},    // shoulders
		{roundRect(0.5, 0.735, 0.24, 0.036, 0.018), accent}, // name line
		{circle(0.735, 0.775, 0.125), accent},               // gap between badge and disc
		{circle(0.735, 0.775, 0.10), amber},                 // disc
		{plus, accent},
	}
}

// outlineLayers is the 32×32 icon: the same badge drawn as a white outline, with the person filled,
// on a transparent background (the schema wants only white on transparent).
func outlineLayers() (background color.NRGBA, layers []layer) {
	// Coordinates are whole pixels of the 32×32 grid so the 2px stroke stays crisp.
	px := func(v float64) float64 { return v / outlineSize }
	return clear, []layer{
		{roundRect(px(16), px(17), px(20), px(26), px(4)), white}, // badge
		{roundRect(px(16), px(17), px(16), px(22), px(2)), clear}, // badge inside
		{roundRect(px(16), px(8), px(6), px(2), px(1)), white},    // lanyard slot
		{circle(px(16), px(13.5), px(3.5)), white},                // head
		{above(circle(px(16), px(26), px(7)), px(24)), white},     // shoulders
	}
}

// render composites the layers over the background with samples×samples coverage per pixel.
// It works in premultiplied floating point and converts to NRGBA at the end; a white-only image
// therefore stays exactly white wherever it is not fully transparent.
func render(size int, background color.NRGBA, layers []layer) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bgA := float64(background.A) / 255
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			r := float64(background.R) / 255 * bgA
			g := float64(background.G) / 255 * bgA
			b := float64(background.B) / 255 * bgA
			a := bgA
			for _, l := range layers {
				cov := coverage(l.shape, px, py, size)
				if cov == 0 {
					continue
				}
				la := float64(l.color.A) / 255 * cov
				r = float64(l.color.R)/255*la + r*(1-cov)
				g = float64(l.color.G)/255*la + g*(1-cov)
				b = float64(l.color.B)/255*la + b*(1-cov)
				a = la + a*(1-cov)
			}
			img.SetNRGBA(px, py, toNRGBA(r, g, b, a))
		}
	}
	return img
}

func coverage(s shape, px, py, size int) float64 {
	inside := 0
	for sy := 0; sy < samples; sy++ {
		for sx := 0; sx < samples; sx++ {
			x := (float64(px) + (float64(sx)+0.5)/samples) / float64(size)
			y := (float64(py) + (float64(sy)+0.5)/samples) / float64(size)
			if s(x, y) {
				inside++
			}
		}
	}
	return float64(inside) / (samples * samples)
}

func toNRGBA(r, g, b, a float64) color.NRGBA {
	alpha := uint8(math.Round(a * 255))
	if alpha == 0 {
		return color.NRGBA{}
	}
	channel := func(v float64) uint8 { return uint8(math.Round(math.Min(v/a, 1) * 255)) }
	return color.NRGBA{R: channel(r), G: channel(g), B: channel(b), A: alpha}
}

// Color renders the 192×192 full-colour icon.
func Color() *image.NRGBA {
	bg, layers := colorLayers()
	return render(colorSize, bg, layers)
}

// Outline renders the 32×32 white-on-transparent outline icon.
func Outline() *image.NRGBA {
	bg, layers := outlineLayers()
	return render(outlineSize, bg, layers)
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		_ = f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func main() {
	out := flag.String("out", "manifest", "directory to write color.png and outline.png into")
	flag.Parse()
	for name, img := range map[string]image.Image{"color.png": Color(), "outline.png": Outline()} {
		if err := writePNG(filepath.Join(*out, name), img); err != nil {
			fmt.Fprintln(os.Stderr, "icongen:", err)
			os.Exit(1)
		}
	}
}
