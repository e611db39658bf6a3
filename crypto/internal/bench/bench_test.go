package bench

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	tjsm3 "github.com/tjfoc/gmsm/sm3"
	tjsm4 "github.com/tjfoc/gmsm/sm4"
	"github.com/ybfed/ybfed/crypto/ca"
	"github.com/ybfed/ybfed/crypto/envelope"
	"github.com/ybfed/ybfed/crypto/link"
	"github.com/ybfed/ybfed/crypto/sm"
)

var msg = []byte("settlement route 440000->110000 fen=1234567 nonce=0123456789abcdef")

func BenchmarkSM2Sign(b *testing.B) {
	k, _ := sm.GenerateKey()
	b.Run("ours-emmansun", func(b *testing.B) {
		for b.Loop() {
			if _, err := sm.Sign(k, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	tk := k.Tjfoc()
	b.Run("ref-tjfoc", func(b *testing.B) {
		for b.Loop() {
			if _, err := tk.Sign(rand.Reader, msg, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSM2Verify(b *testing.B) {
	k, _ := sm.GenerateKey()
	sig, _ := sm.Sign(k, msg)
	pub := k.Public()
	b.Run("ours-emmansun", func(b *testing.B) {
		for b.Loop() {
			if !sm.Verify(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	tp := pub.Tjfoc()
	b.Run("ref-tjfoc", func(b *testing.B) {
		for b.Loop() {
			if !tp.Verify(msg, sig) {
				b.Fatal("verify")
			}
		}
	})
}

const chunk = 16 << 10

func BenchmarkSM3(b *testing.B) {
	buf := make([]byte, chunk)
	b.Run("ours-emmansun", func(b *testing.B) {
		b.SetBytes(chunk)
		for b.Loop() {
			sm.Hash(buf)
		}
	})
	b.Run("ref-tjfoc", func(b *testing.B) {
		b.SetBytes(chunk)
		for b.Loop() {
			tjsm3.Sm3Sum(buf)
		}
	})
}

func BenchmarkSM4GCM(b *testing.B) {
	key := make([]byte, 16)
	buf := make([]byte, chunk)
	nonce := make([]byte, 12)
	run := func(b *testing.B, a cipher.AEAD) {
		out := make([]byte, 0, chunk+16)
		b.SetBytes(chunk)
		for b.Loop() {
			out = a.Seal(out[:0], nonce, buf, nil)
		}
	}
	b.Run("ours-emmansun", func(b *testing.B) {
		a, err := sm.NewAEAD(key)
		if err != nil {
			b.Fatal(err)
		}
		run(b, a)
	})
	b.Run("ref-tjfoc-block-stdgcm", func(b *testing.B) {
		blk, err := tjsm4.NewCipher(key)
		if err != nil {
			b.Fatal(err)
		}
		a, err := cipher.NewGCM(blk)
		if err != nil {
			b.Fatal(err)
		}
		run(b, a)
	})
}

func BenchmarkEnvelopeVerifyKnownSigner(b *testing.B) {
	c, err := ca.Init(b.TempDir(), []byte("bench"), ca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	iss, err := c.Issue(ca.IssueRequest{Admdvs: "440000", Role: ca.RoleProvince})
	if err != nil {
		b.Fatal(err)
	}
	s, err := envelope.NewSigner(iss.SignKey, iss.Sign, true)
	if err != nil {
		b.Fatal(err)
	}
	v, err := envelope.NewVerifier(c.Certificate(), envelope.VerifierOptions{MaxNonces: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	envs := make([]*envelope.Envelope, 0, 4096)
	for range cap(envs) {
		e, err := s.Sign("bench", msg)
		if err != nil {
			b.Fatal(err)
		}
		envs = append(envs, e)
	}
	i := 0
	for b.Loop() {
		if i == len(envs) {
			b.StopTimer()
			v, _ = envelope.NewVerifier(c.Certificate(), envelope.VerifierOptions{MaxNonces: 1 << 20})
			i = 0
			b.StartTimer()
		}
		if _, err := v.Verify(envs[i], ""); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// tlsPair returns server and client material: with the product's key
// adapter (fast SM2) or with plain tjfoc keys (reference).
func gmConfigs(b *testing.B, tjfocKeys bool) (*gmtls.Config, *gmtls.Config) {
	c, err := ca.Init(b.TempDir(), []byte("bench"), ca.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srvM, err := link.IssueMaterial(c, "110000", ca.RoleNational, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	cliM, err := link.IssueMaterial(c, "440000", ca.RoleProvince, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	sc, cc := link.ServerConfig(srvM), link.ClientConfig(cliM, "110000")
	if tjfocKeys {
		sc.Certificates = []gmtls.Certificate{
			{Certificate: [][]byte{srvM.Sign.Raw}, PrivateKey: srvM.SignKey.Tjfoc()},
			{Certificate: [][]byte{srvM.Enc.Raw}, PrivateKey: srvM.EncKey.Tjfoc()},
		}
		sign := gmtls.Certificate{Certificate: [][]byte{cliM.Sign.Raw}, PrivateKey: cliM.SignKey.Tjfoc()}
		cc.GetClientCertificate = func(*gmtls.CertificateRequestInfo) (*gmtls.Certificate, error) { return &sign, nil }
		// Reference: tjfoc verifies the chain itself.
		pool := x509Pool(srvM)
		sc.ClientCAs, sc.ClientAuth, sc.VerifyPeerCertificate = pool, gmtls.RequireAndVerifyClientCert, nil
		cc.RootCAs, cc.InsecureSkipVerify, cc.VerifyPeerCertificate, cc.ServerName = pool, false, nil, "127.0.0.1"
	}
	return sc, cc
}

func serve(b *testing.B, ln net.Listener, bulk bool) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			if hs, ok := c.(interface{ Handshake() error }); ok {
				if err := hs.Handshake(); err != nil {
					return
				}
			}
			if bulk {
				_, _ = io.Copy(io.Discard, c)
				return
			}
			_, _ = c.Write([]byte{1})
		}()
	}
}

func BenchmarkGMTLSHandshake(b *testing.B) {
	for _, tc := range []struct {
		name string
		tj   bool
	}{{"ours-emmansun-keys", false}, {"ref-tjfoc-keys-and-verify", true}} {
		b.Run(tc.name, func(b *testing.B) {
			sc, cc := gmConfigs(b, tc.tj)
			ln, err := gmtls.Listen("tcp", "127.0.0.1:0", sc)
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go serve(b, ln, false)
			addr := ln.Addr().String()
			one := make([]byte, 1)
			for b.Loop() {
				raw, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				c := gmtls.Client(raw, cc)
				if err := link.Handshake(context.Background(), c); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, one); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkGMTLSBulk writes 64 KiB at a time on one established
// connection over loopback (the server discards), for each GM TLS suite
// the product offers and for Go's crypto/tls, in the same run.
func BenchmarkGMTLSBulk(b *testing.B) {
	buf := make([]byte, 64<<10)
	run := func(b *testing.B, c io.Writer) {
		b.SetBytes(int64(len(buf)))
		cpu0 := processCPU(b)
		n := 0
		for b.Loop() {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
			n++
		}
		// Both ends run in this process, so MB per CPU-second (user +
		// system, sender and receiver, TCP included) is the cost of the
		// transfer independent of how much CPU other work leaves us: on
		// an otherwise idle machine the wall-clock MB/s is at least this
		// figure (one core doing everything) and at most twice it (2 cores).
		if cpu := processCPU(b) - cpu0; cpu > 0 {
			b.ReportMetric(float64(n*len(buf))/1e6/cpu.Seconds(), "MB/cpu-s")
		}
	}
	for _, tc := range []struct {
		name  string
		suite uint16
	}{
		{"ours-gmtls-ecc-sm4-gcm-sm3", link.SuiteGCM},
		{"ours-gmtls-ecc-sm4-sm3-cbc", link.SuiteCBC},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sc, cc := gmConfigs(b, false)
			cc.CipherSuites = []uint16{tc.suite}
			ln, err := gmtls.Listen("tcp", "127.0.0.1:0", sc)
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go serve(b, ln, true)
			c, err := gmtls.Dial("tcp", ln.Addr().String(), cc)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if got := c.ConnectionState().CipherSuite; got != tc.suite {
				b.Fatalf("negotiated %#x, want %#x", got, tc.suite)
			}
			run(b, c)
		})
	}
	for _, tc := range []struct {
		name string
		vers uint16
	}{{"ref-crypto-tls13-aes128gcm", tls.VersionTLS13}, {"ref-crypto-tls12-aes128gcm", tls.VersionTLS12}} {
		b.Run(tc.name, func(b *testing.B) {
			cert := selfSigned(b)
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go serve(b, ln, true)
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				InsecureSkipVerify: true, MinVersion: tc.vers, MaxVersion: tc.vers,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			run(b, c)
		})
	}
}

func selfSigned(b *testing.B) tls.Certificate {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		b.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// processCPU is the user plus system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
