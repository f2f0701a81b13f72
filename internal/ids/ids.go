// Package ids makes the random identifiers gatehouse hands out (client ids,
// secrets, record ids), all from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/hex"
)

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Alnum returns n random characters from [a-zA-Z0-9], without modulo bias.
func Alnum(n int) string {
	out := make([]byte, n)
	buf := make([]byte, n+n/2+8)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, b := range buf {
			// 248 = 4*62: bytes at or above it would favour the first letters.
			if b >= 248 {
				continue
			}
			out[i] = alnum[int(b)%62]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}

// Hex returns n random bytes as 2n hex digits.
func Hex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Prefixed returns prefix + "_" + n random alphanumerics, Auth0's shape for
// ids such as con_..., cgr_..., cred_....
func Prefixed(prefix string, n int) string {
	return prefix + "_" + Alnum(n)
}

// UUID returns a random (version 4) UUID, the shape of Auth0's Action,
// version and binding ids.
func UUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
