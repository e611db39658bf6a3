package reports

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ybfed/ybfed/crypto/sm"
)

// Headers of an institution's signed report request.
const (
	HeaderFixmedins = "X-Ybfed-Fixmedins"
	HeaderTime      = "X-Ybfed-Time"
	HeaderSignature = "X-Ybfed-Signature"
)

// maxSkew bounds the age of a signed request.
const maxSkew = 5 * time.Minute

// SignedText is what an institution signs to read a report: the method,
// the request URI (path and query) and the unix time in seconds.
func SignedText(method, requestURI string, unix int64) []byte {
	return []byte(method + "\n" + requestURI + "\n" + strconv.FormatInt(unix, 10))
}

// Sign sets the headers that authenticate req as institution fixmedins
// signing with key at time now.
func Sign(req *http.Request, fixmedins string, key *sm.PrivateKey, now time.Time) error {
	sig, err := sm.Sign(key, SignedText(req.Method, req.URL.RequestURI(), now.Unix()))
	if err != nil {
		return fmt.Errorf("reports: sign: %w", err)
	}
	req.Header.Set(HeaderFixmedins, fixmedins)
	req.Header.Set(HeaderTime, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// institution authenticates a report request and returns the institution
// code it was signed by.
func (s *Service) institution(r *http.Request) (string, error) {
	code := r.Header.Get(HeaderFixmedins)
	if code == "" {
		return "", fmt.Errorf("%w: header %s missing", ErrUnauthorized, HeaderFixmedins)
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
	if err != nil || len(sig) == 0 {
		return "", fmt.Errorf("%w: header %s missing or not base64", ErrUnauthorized, HeaderSignature)
	}
	unix, err := strconv.ParseInt(r.Header.Get(HeaderTime), 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: header %s is not unix seconds", ErrUnauthorized, HeaderTime)
	}
	if d := s.opts.Now().Sub(time.Unix(unix, 0)); d > maxSkew || d < -maxSkew {
		return "", fmt.Errorf("%w: header %s is %s away from this node's clock", ErrUnauthorized, HeaderTime, d.Round(time.Second))
	}
	if s.opts.Keys == nil {
		return "", fmt.Errorf("%w: this node has no institution registry", ErrUnauthorized)
	}
	key, err := s.opts.Keys.HospitalKey(r.Context(), code)
	if err != nil {
		return "", fmt.Errorf("%w: %.12s: %v", ErrUnauthorized, code, err)
	}
	if !sm.Verify(key, SignedText(r.Method, r.URL.RequestURI(), unix), sig) {
		return "", fmt.Errorf("%w: signature of %.12s does not verify", ErrUnauthorized, code)
	}
	return code, nil
}
