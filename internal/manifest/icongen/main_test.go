package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestShippedIconsAreReproducible proves the committed PNGs are exactly what this generator draws, so
// a change to either side without the other is caught.
func TestShippedIconsAreReproducible(t *testing.T) {
	tests := []struct {
		file   string
		render func() *image.NRGBA
	}{
		{"color.png", Color},
		{"outline.png", Outline},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "..", "..", "manifest", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			shipped, err := png.Decode(f)
			if err != nil {
				t.Fatalf("decode %s: %v", tt.file, err)
			}
			want := tt.render()
			if shipped.Bounds() != want.Bounds() {
				t.Fatalf("%s bounds = %v, generator draws %v", tt.file, shipped.Bounds(), want.Bounds())
			}
			b := want.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					sr, sg, sb, sa := shipped.At(x, y).RGBA()
					wr, wg, wb, wa := want.At(x, y).RGBA()
					if sr != wr || sg != wg || sb != wb || sa != wa {
						t.Fatalf("%s differs from the generator at (%d,%d); rerun: go run ./internal/manifest/icongen -out manifest", tt.file, x, y)
					}
				}
			}
		})
	}
}

// TestRenderAntialiasesEdges guards the supersampling: a straight edge through the middle of a pixel
// must give that pixel half coverage, not all or nothing.
func TestRenderAntialiasesEdges(t *testing.T) {
	leftHalf := func(x, _ float64) bool { return x <= 0.5 }
	img := render(3, clear, []layer{{leftHalf, white}})
	tests := []struct {
		x     int
		alpha uint8
	}{
		{0, 255},
		{1, 128},
		{2, 0},
	}
	for _, tt := range tests {
		got := img.NRGBAAt(tt.x, 1)
		if got.A != tt.alpha {
			t.Errorf("pixel %d alpha = %d, want %d", tt.x, got.A, tt.alpha)
		}
		if got.A != 0 && (got.R != 255 || got.G != 255 || got.B != 255) {
			t.Errorf("pixel %d = %v, want pure white", tt.x, got)
		}
	}
}
