package server_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"guestpass/internal/botframework"
	"guestpass/internal/store"
	"guestpass/internal/testkit"
)

func BenchmarkScratchRSAVerify(b *testing.B) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	h := sha256.Sum256([]byte("x"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkScratchValidate(b *testing.B) {
	issuer := testkit.NewChannelIssuer(b)
	v, _ := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{AppID: appID, Issuer: issuer.Issuer, MetadataURL: issuer.MetadataURL, HTTPClient: issuer.Client(), Logger: slog.New(slog.DiscardHandler)})
	_ = v.Refresh(context.Background())
	a := testkit.PersonalMessage("https://smba.trafficmanager.net/emea/", "help")
	hdr := issuer.Header(appID, a.ServiceURL)
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(context.Background(), hdr, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkScratchClaim(b *testing.B) {
	st, _ := store.Open(context.Background(), filepath.Join(b.TempDir(), "x.db"), store.WithLogger(slog.New(slog.DiscardHandler)))
	defer st.Close()
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.ClaimActivity(context.Background(), "conv", fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkScratchDecode(b *testing.B) {
	body := testkit.JSON(b, testkit.PersonalMessage("https://smba.trafficmanager.net/emea/", "help"))
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := botframework.DecodeActivityBytes(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkScratchFloor(b *testing.B) {
	issuer := testkit.NewChannelIssuer(b)
	v, _ := botframework.NewChannelValidator(botframework.ChannelValidatorConfig{AppID: appID, Issuer: issuer.Issuer, MetadataURL: issuer.MetadataURL, HTTPClient: issuer.Client(), Logger: slog.New(slog.DiscardHandler)})
	_ = v.Refresh(context.Background())
	st, _ := store.Open(context.Background(), filepath.Join(b.TempDir(), "x.db"), store.WithLogger(slog.New(slog.DiscardHandler)))
	defer st.Close()
	a0 := testkit.PersonalMessage("https://smba.trafficmanager.net/emea/", "help")
	body := testkit.JSON(b, a0)
	hdr := issuer.Header(appID, a0.ServiceURL)
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := botframework.DecodeActivityBytes(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Validate(context.Background(), hdr, a); err != nil {
			b.Fatal(err)
		}
		if _, err := st.ClaimActivity(context.Background(), "conv", fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}
