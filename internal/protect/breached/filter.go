// Package breached answers "is this password known to be leaked?" offline,
// from a compact filter built from lists of leaked passwords, and
// optionally online through a k-anonymity range API (only the first five
// hex digits of the password's SHA-1 leave the machine).
//
// The filter is a Golomb-coded set: the first 64 bits of each password's
// SHA-1 are mapped onto [0, n·2^k), sorted, and their gaps Rice-coded with
// k bits of remainder, about k+1.5 bits an entry. A password not in the
// list is reported leaked with probability about 2^-k; the default k = 17
// makes that under 1 in 100,000. An index every 128 entries bounds a
// lookup to decoding at most 127 gaps.
package breached

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sort"
)

const (
	magic = "GHBRF1\x00\x00"
	// DefaultBits is k: a false-positive rate of about 1 in 131,072.
	DefaultBits = 17
	// indexEvery is how many entries one index point covers.
	indexEvery  = 128
	headerBytes = len(magic) + 8 + 8 + 1 + 4 + 8 + 8
)

// Filter is a loaded filter; safe for concurrent use.
type Filter struct {
	count  uint64 // entries encoded
	rangeN uint64 // n the values were mapped with (≥ count)
	k      uint8
	every  uint32
	index  []uint64 // pairs: value, bit offset of the next gap
	bits   []byte
}

// Len is the number of distinct entries in the filter.
func (f *Filter) Len() int { return int(f.count) }

// Bytes is the filter's size in memory.
func (f *Filter) Bytes() int { return len(f.bits) + 8*len(f.index) }

// FalsePositiveRate is the chance a password not in the list is reported.
func (f *Filter) FalsePositiveRate() float64 { return 1 / float64(uint64(1)<<f.k) }

// Contains reports whether password is (probably) in the list.
func (f *Filter) Contains(password string) bool {
	sum := sha1.Sum([]byte(password))
	return f.containsKey(binary.BigEndian.Uint64(sum[:8]))
}

// ContainsSHA1 is Contains for a password already hashed.
func (f *Filter) ContainsSHA1(sum [sha1.Size]byte) bool {
	return f.containsKey(binary.BigEndian.Uint64(sum[:8]))
}

func (f *Filter) containsKey(key uint64) bool {
	if f == nil || f.count == 0 {
		return false
	}
	x := mapKey(key, f.rangeN, f.k)
	points := len(f.index) / 2
	// The last index point whose value is ≤ x.
	j := sort.Search(points, func(i int) bool { return f.index[2*i] > x }) - 1
	if j < 0 {
		return false
	}
	cur, off := f.index[2*j], f.index[2*j+1]
	if cur == x {
		return true
	}
	r := bitReader{b: f.bits, pos: off}
	left := min(uint64(f.every)-1, f.count-uint64(j)*uint64(f.every)-1)
	for ; left > 0; left-- {
		d, ok := r.rice(f.k)
		if !ok {
			return false
		}
		cur += d
		if cur >= x {
			return cur == x
		}
	}
	return false
}

// mapKey spreads a 64-bit key over [0, n·2^k) keeping order.
func mapKey(key, n uint64, k uint8) uint64 {
	hi, _ := bits.Mul64(key, n<<k)
	return hi
}

// Load reads a filter written by Build.
func Load(r io.Reader) (*Filter, error) {
	br := bufio.NewReader(r)
	head := make([]byte, headerBytes)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("breached: read header: %w", err)
	}
	if string(head[:len(magic)]) != magic {
		return nil, errors.New("breached: not a breached-password filter")
	}
	p := head[len(magic):]
	f := &Filter{
		count:  binary.LittleEndian.Uint64(p[0:]),
		rangeN: binary.LittleEndian.Uint64(p[8:]),
		k:      p[16],
		every:  binary.LittleEndian.Uint32(p[17:]),
	}
	points := binary.LittleEndian.Uint64(p[21:])
	nbits := binary.LittleEndian.Uint64(p[29:])
	if f.k == 0 || f.k > 40 || f.every == 0 || f.rangeN < f.count || points > f.count+1 || nbits > 1<<40 ||
		(f.count > 0 && points != (f.count+uint64(f.every)-1)/uint64(f.every)) {
		return nil, errors.New("breached: corrupt filter header")
	}
	if points > 1<<36 {
		return nil, errors.New("breached: corrupt filter header")
	}
	// Read what the header promises without trusting it for the
	// allocation: ReadAll grows with the data that is really there.
	want := int64(16*points + nbits)
	data, err := io.ReadAll(io.LimitReader(br, want+1))
	if err != nil {
		return nil, fmt.Errorf("breached: read filter: %w", err)
	}
	if int64(len(data)) != want {
		return nil, errors.New("breached: filter file is truncated or has trailing data")
	}
	f.index = make([]uint64, 2*points)
	for i := range f.index {
		f.index[i] = binary.LittleEndian.Uint64(data[8*i:])
	}
	f.bits = data[16*points:]
	for i := 1; i < len(f.index); i += 2 {
		if f.index[i] > 8*nbits {
			return nil, errors.New("breached: corrupt filter index")
		}
	}
	return f, nil
}

// LoadFile reads a filter file.
func LoadFile(path string) (*Filter, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("breached: %w", err)
	}
	defer fh.Close()
	return Load(fh)
}

type bitReader struct {
	b   []byte
	pos uint64 // in bits
}

// window returns the 64 bits starting at pos (zeros past the end) and how
// many of them are real.
func (r *bitReader) window() (uint64, uint64) {
	i := r.pos >> 3
	if i >= uint64(len(r.b)) {
		return 0, 0
	}
	var w uint64
	if i+8 <= uint64(len(r.b)) {
		w = binary.BigEndian.Uint64(r.b[i:])
	} else {
		var buf [8]byte
		copy(buf[:], r.b[i:])
		w = binary.BigEndian.Uint64(buf[:])
	}
	shift := r.pos & 7
	avail := 8*(uint64(len(r.b))-i) - shift
	return w << shift, min(avail, 64-shift)
}

// rice reads a quotient in unary (ones ended by a zero) and k bits of
// remainder, a window of 64 bits at a time.
func (r *bitReader) rice(k uint8) (uint64, bool) {
	var q uint64
	for {
		w, n := r.window()
		if n == 0 {
			return 0, false
		}
		ones := uint64(bits.LeadingZeros64(^w))
		if ones < n {
			q += ones
			r.pos += ones + 1
			break
		}
		q += n
		r.pos += n
	}
	w, n := r.window()
	if n < uint64(k) {
		return 0, false
	}
	rem := w >> (64 - uint64(k))
	r.pos += uint64(k)
	return q<<k | rem, true
}
