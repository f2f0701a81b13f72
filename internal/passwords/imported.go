package passwords

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4"       //lint:ignore SA1019 Auth0 imports MD4 hashes; verified once, then replaced.
	"golang.org/x/crypto/ripemd160" //lint:ignore SA1019 Auth0 imports HMAC/PBKDF2 over RIPEMD-160; verified once, then replaced.
	"golang.org/x/crypto/scrypt"
)

// An imported hash (Auth0's custom_password_hash) is stored as
// importPrefix followed by the JSON of an importedHash: the algorithm and
// its inputs already decoded to bytes, so a login never decodes the
// import's encodings again. It always verifies with rehash=true, so the
// first successful login replaces it with a native hash.
const importPrefix = "$import$"

// importedHash is the stored form of an imported hash. One of Hash (with
// Salt, Key) or PHC is set.
type importedHash struct {
	// Alg is md4, md5, sha1, sha256, sha512, hmac-<digest>,
	// ldap-<scheme> (md5, smd5, sha, ssha, sha256, ssha256, ...), or
	// argon2, pbkdf2, scrypt, bcrypt (those keep their string in PHC).
	Alg     string `json:"alg"`
	Hash    []byte `json:"hash,omitempty"`
	Salt    []byte `json:"salt,omitempty"`
	SaltPos string `json:"salt_pos,omitempty"` // prefix or suffix
	Key     []byte `json:"key,omitempty"`
	PHC     string `json:"phc,omitempty"`
	// PwEnc is the encoding the old system hashed the password in: utf8
	// (default), utf16le/ucs2 or latin1/binary/ascii.
	PwEnc string `json:"pw_enc,omitempty"`
}

// CustomHash is Auth0's custom_password_hash object, as a bulk import
// file carries it.
type CustomHash struct {
	Algorithm string `json:"algorithm"`
	Hash      *struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Digest   string `json:"digest"`
		Key      *struct {
			Value    string `json:"value"`
			Encoding string `json:"encoding"`
		} `json:"key"`
	} `json:"hash"`
	Salt *struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Position string `json:"position"`
	} `json:"salt"`
	Password *struct {
		Encoding string `json:"encoding"`
	} `json:"password"`
}

// FormatError is a custom_password_hash that cannot be imported: Path
// names the field (under custom_password_hash), Message says why.
type FormatError struct {
	Code    string // Auth0's schema codes: INVALID_FORMAT, ENUM_MISMATCH, ...
	Path    string
	Message string
}

func (e *FormatError) Error() string { return e.Path + ": " + e.Message }

func formatErr(code, path, format string, args ...any) error {
	return &FormatError{Code: code, Path: "custom_password_hash" + path, Message: fmt.Sprintf(format, args...)}
}

// maxImportedField bounds each encoded value of a custom hash (hash, salt,
// key, PHC string): real ones are a few hundred bytes.
const maxImportedField = 4096

// ImportCustomHash checks an Auth0 custom_password_hash object against
// Auth0's rules for its algorithm and returns the hash to store. Every
// refusal is a *FormatError.
func ImportCustomHash(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c CustomHash
	if err := dec.Decode(&c); err != nil {
		return "", formatErr("INVALID_FORMAT", "", "not a valid custom_password_hash object: %s", shortJSONErr(err))
	}
	if c.Hash == nil {
		return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", "", "Missing required property: hash")
	}
	if c.Algorithm == "" {
		return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", "", "Missing required property: algorithm")
	}
	h := c.Hash
	if len(h.Value) > maxImportedField || (c.Salt != nil && len(c.Salt.Value) > maxImportedField) ||
		(h.Key != nil && len(h.Key.Value) > maxImportedField) {
		return "", formatErr("MAX_LENGTH", "", "a value is longer than %d characters", maxImportedField)
	}
	if h.Value == "" {
		return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", ".hash", "Missing required property: value")
	}
	out := importedHash{Alg: c.Algorithm}
	if c.Password != nil && c.Password.Encoding != "" {
		switch c.Password.Encoding {
		case "utf8", "ascii", "utf16le", "ucs2", "latin1", "binary":
			if c.Password.Encoding != "utf8" {
				out.PwEnc = c.Password.Encoding
			}
		default:
			return "", formatErr("ENUM_MISMATCH", ".password.encoding", "No enum match for: %q", c.Password.Encoding)
		}
	}
	phcOnly := func() error {
		if h.Encoding != "" && h.Encoding != "utf8" {
			return formatErr("ENUM_MISMATCH", ".hash.encoding", "hash.encoding must be utf8 for %s", c.Algorithm)
		}
		if c.Salt != nil {
			return formatErr("OBJECT_ADDITIONAL_PROPERTIES", ".salt", "salt is not allowed for %s (it is part of hash.value)", c.Algorithm)
		}
		if h.Key != nil || h.Digest != "" {
			return formatErr("OBJECT_ADDITIONAL_PROPERTIES", ".hash", "hash.key and hash.digest are only for hmac")
		}
		return nil
	}
	switch c.Algorithm {
	case "bcrypt", "argon2", "pbkdf2", "scrypt":
		if err := phcOnly(); err != nil {
			return "", err
		}
		out.PHC = h.Value
		if err := checkPHC(c.Algorithm, h.Value); err != nil {
			return "", formatErr("INVALID_FORMAT", ".hash.value", "%v", err)
		}
	case "ldap":
		if err := phcOnly(); err != nil {
			return "", err
		}
		scheme, digest, salt, err := parseLDAP(h.Value)
		if err != nil {
			return "", formatErr("INVALID_FORMAT", ".hash.value", "%v", err)
		}
		out.Alg, out.Hash, out.Salt = "ldap-"+scheme, digest, salt
	case "md4", "md5", "sha1", "sha256", "sha512", "hmac":
		if h.Encoding != "hex" && h.Encoding != "base64" {
			return "", formatErr("ENUM_MISMATCH", ".hash.encoding", "hash.encoding must be hex or base64 for %s", c.Algorithm)
		}
		sum, err := decodeField(h.Value, h.Encoding)
		if err != nil {
			return "", formatErr("INVALID_FORMAT", ".hash.value", "not valid %s", h.Encoding)
		}
		out.Hash = sum
		newHash := digestFunc(c.Algorithm)
		if c.Algorithm == "hmac" {
			if h.Digest == "" {
				return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", ".hash", "Missing required property: digest")
			}
			if newHash = digestFunc(h.Digest); newHash == nil {
				return "", formatErr("ENUM_MISMATCH", ".hash.digest", "unsupported digest %q", h.Digest)
			}
			if h.Key == nil || h.Key.Value == "" {
				return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", ".hash.key", "Missing required property: value")
			}
			key, err := decodeField(h.Key.Value, orUTF8(h.Key.Encoding))
			if err != nil {
				return "", formatErr("INVALID_FORMAT", ".hash.key.value", "not valid %s", orUTF8(h.Key.Encoding))
			}
			out.Alg, out.Key = "hmac-"+h.Digest, key
		} else if h.Key != nil || h.Digest != "" {
			return "", formatErr("OBJECT_ADDITIONAL_PROPERTIES", ".hash", "hash.key and hash.digest are only for hmac")
		}
		if len(sum) != newHash().Size() {
			return "", formatErr("INVALID_FORMAT", ".hash.value", "a %s hash is %d bytes, this one is %d", out.Alg, newHash().Size(), len(sum))
		}
		if c.Salt != nil {
			salt, err := decodeField(c.Salt.Value, orUTF8(c.Salt.Encoding))
			if err != nil {
				return "", formatErr("INVALID_FORMAT", ".salt.value", "not valid %s", orUTF8(c.Salt.Encoding))
			}
			switch c.Salt.Position {
			case "prefix", "suffix":
			case "":
				return "", formatErr("OBJECT_MISSING_REQUIRED_PROPERTY", ".salt", "Missing required property: position")
			default:
				return "", formatErr("ENUM_MISMATCH", ".salt.position", "No enum match for: %q", c.Salt.Position)
			}
			out.Salt, out.SaltPos = salt, c.Salt.Position
		}
	default:
		return "", formatErr("ENUM_MISMATCH", ".algorithm", "No enum match for: %q", c.Algorithm)
	}
	doc, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("passwords: encode imported hash: %w", err)
	}
	return importPrefix + string(doc), nil
}

func shortJSONErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func orUTF8(enc string) string {
	if enc == "" {
		return "utf8"
	}
	return enc
}

// decodeField decodes a hash, salt or key given in one of Auth0's
// encodings: hex in either case, base64 standard or URL-safe, padded or
// not, or utf8 (the bytes as they are).
func decodeField(v, enc string) ([]byte, error) {
	switch enc {
	case "utf8":
		return []byte(v), nil
	case "hex":
		return hex.DecodeString(v)
	case "base64":
		v = strings.TrimRight(v, "=")
		if strings.ContainsAny(v, "-_") {
			return base64.RawURLEncoding.DecodeString(v)
		}
		return base64.RawStdEncoding.DecodeString(v)
	}
	return nil, fmt.Errorf("unknown encoding %q", enc)
}

// digestFunc names the hash functions of Auth0's md*/sha* algorithms, HMAC
// digests and PBKDF2 digests (with OpenSSL's aliases). whirlpool and mdc2
// have no implementation in the standard library or x/crypto: nil.
func digestFunc(name string) func() hash.Hash {
	name = strings.ToLower(name)
	name = strings.TrimPrefix(name, "rsa-")
	name = strings.TrimSuffix(name, "withrsaencryption")
	name = strings.TrimSuffix(name, "withrsa")
	switch name {
	case "md4":
		return md4.New
	case "md5", "ssl3-md5":
		return md5.New
	case "sha1", "ssl3-sha1", "sha1-2":
		return sha1.New
	case "sha224":
		return sha256.New224
	case "sha256":
		return sha256.New
	case "sha384":
		return sha512.New384
	case "sha512":
		return sha512.New
	case "ripemd", "ripemd160", "rmd160":
		return ripemd160.New
	}
	return nil
}

// ldapSchemes are the RFC 2307 schemes Auth0 imports: the digest, and
// whether a salt follows the digest in the value.
var ldapSchemes = map[string]struct {
	digest string
	salted bool
}{
	"md5": {"md5", false}, "smd5": {"md5", true},
	"sha": {"sha1", false}, "ssha": {"sha1", true},
	"sha256": {"sha256", false}, "ssha256": {"sha256", true},
	"sha384": {"sha384", false}, "ssha384": {"sha384", true},
	"sha512": {"sha512", false}, "ssha512": {"sha512", true},
}

// parseLDAP splits an RFC 2307 userPassword value ({SCHEME}base64) into
// the scheme (lower case), the digest and, for the salted schemes, the
// salt that follows the digest.
func parseLDAP(v string) (scheme string, digest, salt []byte, err error) {
	end := strings.IndexByte(v, '}')
	if !strings.HasPrefix(v, "{") || end < 0 {
		return "", nil, nil, errors.New("not an RFC 2307 {SCHEME} value")
	}
	scheme = strings.ToLower(v[1:end])
	sc, ok := ldapSchemes[scheme]
	if !ok {
		return "", nil, nil, fmt.Errorf("LDAP scheme {%s} is not supported (MD5, SMD5, SHA, SSHA, SHA256, SSHA256, SHA384, SSHA384, SHA512, SSHA512)", strings.ToUpper(scheme))
	}
	raw, err := base64.StdEncoding.DecodeString(v[end+1:])
	if err != nil {
		return "", nil, nil, errors.New("the value after the scheme is not base64")
	}
	size := digestFunc(sc.digest)().Size()
	if (!sc.salted && len(raw) != size) || (sc.salted && len(raw) <= size) {
		return "", nil, nil, fmt.Errorf("wrong length for {%s}", strings.ToUpper(scheme))
	}
	return scheme, raw[:size], raw[size:], nil
}

// ldapHash is the digest function of a stored ldap-<scheme>.
func ldapHash(scheme string) func() hash.Hash {
	sc, ok := ldapSchemes[scheme]
	if !ok {
		return nil
	}
	return digestFunc(sc.digest)
}

// Bounds on the cost parameters of imported PHC strings, so a hostile or
// corrupt file cannot make one login take minutes or gigabytes.
const (
	maxPBKDF2Iterations = 5_000_000
	maxScryptMemory     = 256 << 20 // 128 * N * r bytes
	maxDerivedKey       = 256
)

// checkPHC parses an imported PHC string (or bcrypt string) fully, so a
// bad one is refused at import rather than at a login.
func checkPHC(alg, v string) error {
	var err error
	switch alg {
	case "bcrypt":
		if !strings.HasPrefix(v, "$2a$") && !strings.HasPrefix(v, "$2b$") && !strings.HasPrefix(v, "$2y$") {
			return errors.New("a bcrypt hash starts with $2a$ or $2b$")
		}
		_, err = bcrypt.Cost([]byte(v))
		if err == nil && len(v) != 60 {
			err = errors.New("a bcrypt hash is 60 characters")
		}
	case "argon2":
		_, err = parseArgon2PHC(v)
	case "pbkdf2":
		_, err = parsePBKDF2(v)
	case "scrypt":
		_, err = parseScrypt(v)
	}
	return err
}

type argon2PHC struct {
	variant   string // argon2i or argon2id
	p         Argon2Params
	salt, key []byte
}

// parseArgon2PHC reads $argon2i$ and $argon2id$ strings of version 19
// (x/crypto implements that version; argon2d is not in x/crypto).
func parseArgon2PHC(v string) (argon2PHC, error) {
	parts := strings.Split(v, "$")
	if len(parts) == 5 { // no v= segment: version 16, which x/crypto does not compute
		return argon2PHC{}, errors.New("argon2 version 16 (no v=) is not supported; want v=19")
	}
	if len(parts) != 6 || parts[0] != "" {
		return argon2PHC{}, errors.New("not an argon2 PHC string ($argon2id$v=19$m=..,t=..,p=..$salt$hash)")
	}
	variant := parts[1]
	if variant != "argon2i" && variant != "argon2id" {
		return argon2PHC{}, fmt.Errorf("argon2 variant %q is not supported (argon2i, argon2id)", variant)
	}
	p, salt, key, err := parseArgon2("$argon2id$" + strings.Join(parts[2:], "$"))
	if err != nil {
		return argon2PHC{}, errors.New("malformed argon2 parameters, salt or hash")
	}
	return argon2PHC{variant: variant, p: p, salt: salt, key: key}, nil
}

type pbkdf2PHC struct {
	digest    string
	newHash   func() hash.Hash
	iter, len int
	salt, key []byte
}

// phcB64 decodes PHC's B64: standard base64 without padding (padding is
// tolerated).
func phcB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// phcParams parses "a=1,b=2" into a map of integers.
func phcParams(s string) (map[string]int, error) {
	out := map[string]int{}
	if s == "" {
		return out, nil
	}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("parameter %q is not name=integer", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("parameter %q given twice", k)
		}
		out[k] = n
	}
	return out, nil
}

// parsePBKDF2 reads $pbkdf2-<digest>$i=<iterations>,l=<keylen>$<salt>$<hash>;
// i defaults to 100000 and l to 64, as Auth0 does.
func parsePBKDF2(v string) (pbkdf2PHC, error) {
	parts := strings.Split(v, "$")
	if len(parts) == 4 { // no parameter segment: the defaults
		parts = []string{parts[0], parts[1], "", parts[2], parts[3]}
	}
	if len(parts) != 5 || parts[0] != "" || !strings.HasPrefix(parts[1], "pbkdf2-") {
		return pbkdf2PHC{}, errors.New("not a PBKDF2 PHC string ($pbkdf2-<digest>$i=..,l=..$salt$hash)")
	}
	digest := strings.TrimPrefix(parts[1], "pbkdf2-")
	newHash := digestFunc(digest)
	if newHash == nil {
		return pbkdf2PHC{}, fmt.Errorf("PBKDF2 digest %q is not supported", digest)
	}
	params, err := phcParams(parts[2])
	if err != nil {
		return pbkdf2PHC{}, err
	}
	out := pbkdf2PHC{digest: strings.ToLower(digest), newHash: newHash, iter: 100000, len: 64}
	for k, n := range params {
		switch k {
		case "i":
			out.iter = n
		case "l":
			out.len = n
		default:
			return pbkdf2PHC{}, fmt.Errorf("unknown PBKDF2 parameter %q", k)
		}
	}
	if out.iter < 1 || out.iter > maxPBKDF2Iterations {
		return pbkdf2PHC{}, fmt.Errorf("PBKDF2 iterations must be 1 to %d", maxPBKDF2Iterations)
	}
	if out.salt, err = phcB64(parts[3]); err != nil || len(out.salt) == 0 {
		return pbkdf2PHC{}, errors.New("PBKDF2 salt is not B64")
	}
	if out.key, err = phcB64(parts[4]); err != nil || len(out.key) == 0 {
		return pbkdf2PHC{}, errors.New("PBKDF2 hash is not B64")
	}
	if len(out.key) != out.len || out.len > maxDerivedKey {
		return pbkdf2PHC{}, fmt.Errorf("PBKDF2 hash is %d bytes but l=%d", len(out.key), out.len)
	}
	return out, nil
}

type scryptPHC struct {
	ln, r, p  int
	salt, key []byte
}

// parseScrypt reads $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>.
func parseScrypt(v string) (scryptPHC, error) {
	parts := strings.Split(v, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return scryptPHC{}, errors.New("not a scrypt PHC string ($scrypt$ln=..,r=..,p=..$salt$hash)")
	}
	params, err := phcParams(parts[2])
	if err != nil {
		return scryptPHC{}, err
	}
	out := scryptPHC{ln: params["ln"], r: params["r"], p: params["p"]}
	if len(params) != 3 || out.ln < 1 || out.ln > 24 || out.r < 1 || out.p < 1 || out.p > 16 {
		return scryptPHC{}, errors.New("scrypt needs ln (1..24), r (>=1) and p (1..16)")
	}
	if 128*(1<<out.ln)*out.r > maxScryptMemory {
		return scryptPHC{}, fmt.Errorf("scrypt parameters need more than %d MiB", maxScryptMemory>>20)
	}
	if out.salt, err = phcB64(parts[3]); err != nil || len(out.salt) == 0 {
		return scryptPHC{}, errors.New("scrypt salt is not B64")
	}
	if out.key, err = phcB64(parts[4]); err != nil || len(out.key) < 16 || len(out.key) > maxDerivedKey {
		return scryptPHC{}, errors.New("scrypt hash is not B64 of 16 to 256 bytes")
	}
	return out, nil
}

// parseImported decodes a stored imported hash.
func parseImported(stored string) (*importedHash, error) {
	var h importedHash
	if err := json.Unmarshal([]byte(strings.TrimPrefix(stored, importPrefix)), &h); err != nil {
		return nil, ErrMalformedHash
	}
	return &h, nil
}

// encodePassword turns the login's UTF-8 password into the bytes the old
// system hashed, as Node's Buffer.from(password, encoding) does.
func encodePassword(password, enc string) []byte {
	switch enc {
	case "utf16le", "ucs2":
		u := utf16.Encode([]rune(password))
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			b = append(b, byte(c), byte(c>>8))
		}
		return b
	case "latin1", "binary", "ascii":
		u := utf16.Encode([]rune(password))
		b := make([]byte, len(u))
		for i, c := range u {
			b[i] = byte(c)
		}
		return b
	}
	return []byte(password)
}

// verifyImported checks password against an imported hash in constant
// time (for its algorithm's output).
func verifyImported(stored, password string) (bool, error) {
	h, err := parseImported(stored)
	if err != nil {
		return false, err
	}
	if !utf8.ValidString(password) {
		return false, nil
	}
	pw := encodePassword(password, h.PwEnc)
	var got, want []byte
	switch {
	case h.PHC != "":
		return verifyPHC(h.Alg, h.PHC, pw)
	case strings.HasPrefix(h.Alg, "hmac-"):
		newHash := digestFunc(strings.TrimPrefix(h.Alg, "hmac-"))
		if newHash == nil {
			return false, ErrMalformedHash
		}
		m := hmac.New(newHash, h.Key)
		m.Write(salted(pw, h.Salt, h.SaltPos))
		got, want = m.Sum(nil), h.Hash
	case strings.HasPrefix(h.Alg, "ldap-"):
		newHash := ldapHash(strings.TrimPrefix(h.Alg, "ldap-"))
		if newHash == nil {
			return false, ErrMalformedHash
		}
		d := newHash()
		d.Write(pw)
		d.Write(h.Salt) // RFC 2307 salted schemes hash password then salt
		got, want = d.Sum(nil), h.Hash
	default:
		newHash := digestFunc(h.Alg)
		if newHash == nil {
			return false, ErrMalformedHash
		}
		d := newHash()
		d.Write(salted(pw, h.Salt, h.SaltPos))
		got, want = d.Sum(nil), h.Hash
	}
	return len(want) > 0 && subtle.ConstantTimeCompare(got, want) == 1, nil
}

func salted(pw, salt []byte, pos string) []byte {
	switch pos {
	case "prefix":
		return append(append([]byte{}, salt...), pw...)
	case "suffix":
		return append(append([]byte{}, pw...), salt...)
	}
	return pw
}

func verifyPHC(alg, v string, pw []byte) (bool, error) {
	switch alg {
	case "bcrypt":
		err := bcrypt.CompareHashAndPassword([]byte(v), pw)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return false, nil
		}
		if err != nil {
			return false, ErrMalformedHash
		}
		return true, nil
	case "argon2":
		a, err := parseArgon2PHC(v)
		if err != nil {
			return false, ErrMalformedHash
		}
		var got []byte
		if a.variant == "argon2i" {
			got = argon2.Key(pw, a.salt, a.p.Time, a.p.MemoryKiB, a.p.Threads, uint32(len(a.key)))
		} else {
			got = argon2.IDKey(pw, a.salt, a.p.Time, a.p.MemoryKiB, a.p.Threads, uint32(len(a.key)))
		}
		return subtle.ConstantTimeCompare(got, a.key) == 1, nil
	case "pbkdf2":
		p, err := parsePBKDF2(v)
		if err != nil {
			return false, ErrMalformedHash
		}
		got, err := pbkdf2.Key(p.newHash, string(pw), p.salt, p.iter, p.len)
		if err != nil {
			return false, ErrMalformedHash
		}
		return subtle.ConstantTimeCompare(got, p.key) == 1, nil
	case "scrypt":
		p, err := parseScrypt(v)
		if err != nil {
			return false, ErrMalformedHash
		}
		got, err := scrypt.Key(pw, p.salt, 1<<p.ln, p.r, p.p, len(p.key))
		if err != nil {
			return false, ErrMalformedHash
		}
		return subtle.ConstantTimeCompare(got, p.key) == 1, nil
	}
	return false, ErrMalformedHash
}

// importedClass names an imported hash's cost class: the algorithm, and
// for the tunable ones their parameters.
func importedClass(stored string) (string, bool) {
	h, err := parseImported(stored)
	if err != nil {
		return "", false
	}
	switch h.Alg {
	case "bcrypt":
		cost, err := bcrypt.Cost([]byte(h.PHC))
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("bcrypt$%d", cost), true
	case "argon2":
		a, err := parseArgon2PHC(h.PHC)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("%s$m=%d,t=%d,p=%d", a.variant, a.p.MemoryKiB, a.p.Time, a.p.Threads), true
	case "pbkdf2":
		p, err := parsePBKDF2(h.PHC)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("pbkdf2-%s$i=%d,l=%d", p.digest, p.iter, p.len), true
	case "scrypt":
		p, err := parseScrypt(h.PHC)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("scrypt$ln=%d,r=%d,p=%d", p.ln, p.r, p.p), true
	}
	// The plain digests cost microseconds whatever their inputs: one class.
	return "digest", true
}

// IsImported reports whether a stored hash came from an import and has not
// yet been replaced by a login.
func IsImported(stored string) bool { return strings.HasPrefix(stored, importPrefix) }

// ExportCustomHash returns a stored hash as an Auth0 custom_password_hash
// object, so an export can be imported again (here or at Auth0): native
// bcrypt and argon2id as themselves, imported hashes as they came in
// (bytes re-encoded as hex). ok is false for NoPassword and unknown forms.
func ExportCustomHash(stored string) (map[string]any, bool) {
	switch {
	case strings.HasPrefix(stored, "$2a$"), strings.HasPrefix(stored, "$2b$"), strings.HasPrefix(stored, "$2y$"):
		return map[string]any{"algorithm": "bcrypt", "hash": map[string]any{"value": stored}}, true
	case strings.HasPrefix(stored, "$argon2id$"):
		return map[string]any{"algorithm": "argon2", "hash": map[string]any{"value": stored}}, true
	case !IsImported(stored):
		return nil, false
	}
	h, err := parseImported(stored)
	if err != nil {
		return nil, false
	}
	out := map[string]any{}
	hv := map[string]any{}
	switch {
	case h.PHC != "":
		out["algorithm"], hv["value"] = h.Alg, h.PHC
	case strings.HasPrefix(h.Alg, "ldap-"):
		scheme := strings.ToUpper(strings.TrimPrefix(h.Alg, "ldap-"))
		out["algorithm"] = "ldap"
		hv["value"] = "{" + scheme + "}" + base64.StdEncoding.EncodeToString(append(append([]byte{}, h.Hash...), h.Salt...))
	default:
		out["algorithm"] = h.Alg
		hv["value"], hv["encoding"] = hex.EncodeToString(h.Hash), "hex"
		if d, ok := strings.CutPrefix(h.Alg, "hmac-"); ok {
			out["algorithm"], hv["digest"] = "hmac", d
			hv["key"] = map[string]any{"value": hex.EncodeToString(h.Key), "encoding": "hex"}
		}
		if h.SaltPos != "" {
			out["salt"] = map[string]any{"value": hex.EncodeToString(h.Salt), "encoding": "hex", "position": h.SaltPos}
		}
	}
	out["hash"] = hv
	if h.PwEnc != "" {
		out["password"] = map[string]any{"encoding": h.PwEnc}
	}
	return out, true
}
