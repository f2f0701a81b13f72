// Package importtest computes, for tests, one Auth0 custom_password_hash
// object per algorithm and variant Auth0's bulk import accepts, each from a
// known password with the standard library or x/crypto, the way the old
// system would have made it.
package importtest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"unicode/utf16"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4" //lint:ignore SA1019 the import format includes MD4
	"golang.org/x/crypto/scrypt"
)

// Case is one custom_password_hash, named by algorithm and variant.
type Case struct {
	Name string
	Hash map[string]any // the custom_password_hash object
}

func sum(h func() hash.Hash, parts ...[]byte) []byte {
	d := h()
	for _, p := range parts {
		d.Write(p)
	}
	return d.Sum(nil)
}

func b64(b []byte) string  { return base64.StdEncoding.EncodeToString(b) }
func rb64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// Cases returns a custom_password_hash of password for every algorithm
// (argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2,
// scrypt) and the salt positions, encodings, digests and schemes they take.
// bcryptCost sets the bcrypt cases' cost (bcrypt.MinCost keeps tests fast).
func Cases(password string, bcryptCost int) []Case {
	pw := []byte(password)
	salt := []byte("NaCl-salt")
	var out []Case
	add := func(name string, h map[string]any) { out = append(out, Case{name, h}) }

	// Plain digests, hex and base64, unsalted and salted either side.
	for _, d := range []struct {
		alg string
		h   func() hash.Hash
	}{{"md4", md4.New}, {"md5", md5.New}, {"sha1", sha1.New}, {"sha256", sha256.New}, {"sha512", sha512.New}} {
		add(d.alg+"-hex", map[string]any{"algorithm": d.alg,
			"hash": map[string]any{"value": hex.EncodeToString(sum(d.h, pw)), "encoding": "hex"}})
		add(d.alg+"-base64-prefix", map[string]any{"algorithm": d.alg,
			"hash": map[string]any{"value": b64(sum(d.h, salt, pw)), "encoding": "base64"},
			"salt": map[string]any{"value": string(salt), "position": "prefix"}})
		add(d.alg+"-HEX-suffix-hexsalt", map[string]any{"algorithm": d.alg,
			"hash": map[string]any{"value": fmt.Sprintf("%X", sum(d.h, pw, salt)), "encoding": "hex"},
			"salt": map[string]any{"value": hex.EncodeToString(salt), "encoding": "hex", "position": "suffix"}})
	}
	// A hash made over the UTF-16LE bytes of the password (password.encoding).
	u := utf16.Encode([]rune(password))
	ucs := make([]byte, 0, 2*len(u))
	for _, c := range u {
		ucs = append(ucs, byte(c), byte(c>>8))
	}
	add("sha256-ucs2", map[string]any{"algorithm": "sha256",
		"hash":     map[string]any{"value": hex.EncodeToString(sum(sha256.New, ucs)), "encoding": "hex"},
		"password": map[string]any{"encoding": "ucs2"}})

	// HMAC with each digest, keys in each encoding.
	key := []byte("hmac-key")
	for _, d := range []struct {
		name string
		h    func() hash.Hash
	}{{"md5", md5.New}, {"sha1", sha1.New}, {"sha224", sha256.New224}, {"sha256", sha256.New}, {"sha384", sha512.New384}, {"sha512", sha512.New}} {
		m := hmac.New(d.h, key)
		m.Write(pw)
		add("hmac-"+d.name, map[string]any{"algorithm": "hmac", "hash": map[string]any{
			"value": b64(m.Sum(nil)), "encoding": "base64", "digest": d.name,
			"key": map[string]any{"value": hex.EncodeToString(key), "encoding": "hex"}}})
	}
	m := hmac.New(sha256.New, key)
	m.Write(append(append([]byte{}, salt...), pw...))
	add("hmac-sha256-salted-utf8key", map[string]any{"algorithm": "hmac",
		"hash": map[string]any{"value": hex.EncodeToString(m.Sum(nil)), "encoding": "hex", "digest": "sha256",
			"key": map[string]any{"value": string(key)}},
		"salt": map[string]any{"value": b64(salt), "encoding": "base64", "position": "prefix"}})

	// LDAP RFC 2307 schemes; salted ones append the salt to the digest.
	for _, l := range []struct {
		scheme string
		h      func() hash.Hash
		salted bool
	}{{"MD5", md5.New, false}, {"SMD5", md5.New, true}, {"SHA", sha1.New, false}, {"SSHA", sha1.New, true},
		{"SHA256", sha256.New, false}, {"SSHA256", sha256.New, true}, {"SHA384", sha512.New384, false},
		{"SSHA384", sha512.New384, true}, {"SHA512", sha512.New, false}, {"SSHA512", sha512.New, true}} {
		var v []byte
		if l.salted {
			v = append(sum(l.h, pw, salt), salt...)
		} else {
			v = sum(l.h, pw)
		}
		add("ldap-"+l.scheme, map[string]any{"algorithm": "ldap",
			"hash": map[string]any{"value": "{" + l.scheme + "}" + b64(v), "encoding": "utf8"}})
	}

	// bcrypt, $2a$ and $2b$.
	bc, _ := bcrypt.GenerateFromPassword(pw, bcryptCost)
	add("bcrypt-2b", map[string]any{"algorithm": "bcrypt", "hash": map[string]any{"value": string(bc)}})
	add("bcrypt-2a", map[string]any{"algorithm": "bcrypt", "hash": map[string]any{"value": "$2a$" + string(bc[4:])}})

	// argon2i and argon2id PHC strings.
	ks := []byte("argon-salt-16byt")
	add("argon2id", map[string]any{"algorithm": "argon2", "hash": map[string]any{"value": fmt.Sprintf(
		"$argon2id$v=19$m=256,t=2,p=1$%s$%s", rb64(ks), rb64(argon2.IDKey(pw, ks, 2, 256, 1, 32)))}})
	add("argon2i", map[string]any{"algorithm": "argon2", "hash": map[string]any{"value": fmt.Sprintf(
		"$argon2i$v=19$m=128,t=3,p=1$%s$%s", rb64(ks), rb64(argon2.Key(pw, ks, 3, 128, 1, 32))), "encoding": "utf8"}})

	// PBKDF2 PHC with several digests; one relies on Auth0's defaults.
	for _, p := range []struct {
		digest string
		h      func() hash.Hash
		iter   int
		l      int
	}{{"sha1", sha1.New, 1000, 20}, {"sha256", sha256.New, 1000, 32}, {"sha512", sha512.New, 1000, 64}, {"md5", md5.New, 500, 16}} {
		k, _ := pbkdf2.Key(p.h, password, salt, p.iter, p.l)
		add("pbkdf2-"+p.digest, map[string]any{"algorithm": "pbkdf2", "hash": map[string]any{
			"value": fmt.Sprintf("$pbkdf2-%s$i=%d,l=%d$%s$%s", p.digest, p.iter, p.l, rb64(salt), rb64(k)), "encoding": "utf8"}})
	}
	k, _ := pbkdf2.Key(sha256.New, password, salt, 100000, 64)
	add("pbkdf2-sha256-defaults", map[string]any{"algorithm": "pbkdf2", "hash": map[string]any{
		"value": fmt.Sprintf("$pbkdf2-sha256$%s$%s", rb64(salt), rb64(k))}})

	// scrypt PHC.
	sk, _ := scrypt.Key(pw, salt, 1<<10, 8, 1, 32)
	add("scrypt", map[string]any{"algorithm": "scrypt", "hash": map[string]any{
		"value": fmt.Sprintf("$scrypt$ln=10,r=8,p=1$%s$%s", rb64(salt), rb64(sk))}})
	return out
}
