// Command gmssl11peer is a GM TLS endpoint built against the unpatched
// github.com/tjfoc/gmsm v1.4.1 from the module proxy (this directory is
// its own module, so the repository's replace does not apply). It offers
// gmtls's default suites, ECC_SM4_SM3 and ECDHE_SM4_SM3, as a GMSSL 1.1
// peer would; crypto/link's interop test runs it.
//
//	gmssl11peer -dir D -serve           listen on loopback, print "LISTEN addr", echo one connection
//	gmssl11peer -dir D -dial ADDR MSG   send MSG, read it back, print "OK suite"
//
// D holds sign.pem, sign.key, enc.pem and enc.key (unencrypted PEM).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tjfoc/gmsm/gmtls"
	"github.com/tjfoc/gmsm/x509"
)

func main() {
	dir := flag.String("dir", "", "directory with sign.pem, sign.key, enc.pem, enc.key")
	serve := flag.Bool("serve", false, "serve one connection")
	dial := flag.String("dial", "", "address to dial")
	flag.Parse()
	if err := run(*dir, *serve, *dial, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "gmssl11peer:", err)
		os.Exit(1)
	}
}

func load(dir, name string) (gmtls.Certificate, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, name+".pem"))
	if err != nil {
		return gmtls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if err != nil {
		return gmtls.Certificate{}, err
	}
	cert, err := x509.ReadCertificateFromPem(certPEM)
	if err != nil {
		return gmtls.Certificate{}, err
	}
	key, err := x509.ReadPrivateKeyFromPem(keyPEM, nil)
	if err != nil {
		return gmtls.Certificate{}, err
	}
	return gmtls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

func run(dir string, serve bool, dial, msg string) error {
	sign, err := load(dir, "sign")
	if err != nil {
		return err
	}
	enc, err := load(dir, "enc")
	if err != nil {
		return err
	}
	if serve {
		ln, err := gmtls.Listen("tcp", "127.0.0.1:0", &gmtls.Config{
			GMSupport:    gmtls.NewGMSupport(),
			Certificates: []gmtls.Certificate{sign, enc},
			ClientAuth:   gmtls.RequireAnyClientCert,
		})
		if err != nil {
			return err
		}
		defer ln.Close()
		fmt.Println("LISTEN", ln.Addr())
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.Copy(c, c)
		return err
	}
	c, err := gmtls.Dial("tcp", dial, &gmtls.Config{
		GMSupport:          gmtls.NewGMSupport(),
		Certificates:       []gmtls.Certificate{sign, enc},
		InsecureSkipVerify: true,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil {
		return err
	}
	if !bytes.Equal(back, []byte(msg)) {
		return fmt.Errorf("echo %q, want %q", back, msg)
	}
	fmt.Printf("OK %#04x\n", c.ConnectionState().CipherSuite)
	return nil
}
