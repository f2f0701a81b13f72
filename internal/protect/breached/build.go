package breached

import (
	"bufio"
	"bytes"
	"container/heap"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Format says what each line of a list is.
type Format int

const (
	// Plaintext: one leaked password per line.
	Plaintext Format = iota
	// SHA1Hex: the SHA-1 of a password in hex, optionally followed by
	// ":count" (the Pwned Passwords download).
	SHA1Hex
)

// BuildOptions tunes Build; the zero value is usable.
type BuildOptions struct {
	Format Format
	Bits   uint8 // k; 0 means DefaultBits
	// TempDir holds the sorted runs and the encoded parts while building;
	// "" means the system's.
	TempDir string
	// RunSize is how many entries are sorted in memory at once (8 bytes
	// each); 0 means 4 Mi (32 MiB). Memory use stays near it whatever the
	// size of the list.
	RunSize int
	// Progress, when set, is called now and then, and once at the end of
	// each phase.
	Progress func(Progress)
}

// Progress reports how far Build is.
type Progress struct {
	Phase   string // "read", "encode"
	Done    int64  // lines read, or entries encoded
	Total   int64  // entries to encode (0 while reading)
	Bytes   int64  // input bytes read
	Written int64  // entries kept after removing duplicates (encode)
}

// Stats describes a built filter.
type Stats struct {
	Lines   int64 // entries read
	Entries int64 // distinct entries encoded
	Bytes   int64 // size of the filter file
}

// Build reads a list of leaked passwords from in and writes a filter to
// out. Lists of any size are built in bounded memory: entries are sorted
// in runs of RunSize, the runs spilled to TempDir and merged.
func Build(out io.Writer, in io.Reader, opts BuildOptions) (Stats, error) {
	if opts.Bits == 0 {
		opts.Bits = DefaultBits
	}
	if opts.Bits > 40 {
		return Stats{}, errors.New("breached: bits must be at most 40")
	}
	if opts.RunSize <= 0 {
		opts.RunSize = 4 << 20
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	b := &builder{opts: opts, progress: progress}
	defer b.cleanup()
	lines, err := b.read(in)
	if err != nil {
		return Stats{}, err
	}
	return b.write(out, lines)
}

type builder struct {
	opts     BuildOptions
	progress func(Progress)
	runs     []*os.File
	last     []uint64 // the final run, kept in memory
	temps    []*os.File
}

func (b *builder) cleanup() {
	for _, f := range b.temps {
		f.Close()
		os.Remove(f.Name())
	}
}

func (b *builder) temp() (*os.File, error) {
	f, err := os.CreateTemp(b.opts.TempDir, "gatehouse-breached-*")
	if err != nil {
		return nil, fmt.Errorf("breached: temporary file: %w", err)
	}
	b.temps = append(b.temps, f)
	return f, nil
}

// read parses every line into a key, spilling sorted runs as they fill.
func (b *builder) read(in io.Reader) (int64, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	run := make([]uint64, 0, min(b.opts.RunSize, 1<<16))
	var lines, bytesRead int64
	for sc.Scan() {
		line := sc.Bytes()
		bytesRead += int64(len(line)) + 1
		if b.opts.Format == Plaintext {
			line = bytes.TrimRight(line, "\r")
		} else {
			line = bytes.TrimSpace(line)
		}
		if len(line) == 0 {
			continue
		}
		key, err := b.key(line)
		if err != nil {
			return 0, fmt.Errorf("breached: line %d: %w", lines+1, err)
		}
		run = append(run, key)
		lines++
		if len(run) == b.opts.RunSize {
			if err := b.spill(run); err != nil {
				return 0, err
			}
			run = run[:0]
		}
		if lines%(1<<20) == 0 {
			b.progress(Progress{Phase: "read", Done: lines, Bytes: bytesRead})
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("breached: read list: %w", err)
	}
	slices.Sort(run)
	b.last = run
	b.progress(Progress{Phase: "read", Done: lines, Bytes: bytesRead})
	return lines, nil
}

func (b *builder) key(line []byte) (uint64, error) {
	if b.opts.Format == Plaintext {
		sum := sha1.Sum(line)
		return binary.BigEndian.Uint64(sum[:8]), nil
	}
	h, _, _ := bytes.Cut(line, []byte(":"))
	if len(h) != 2*sha1.Size {
		return 0, errors.New("not a SHA-1 in hex")
	}
	var sum [8]byte
	if _, err := hex.Decode(sum[:], h[:16]); err != nil {
		return 0, errors.New("not a SHA-1 in hex")
	}
	if _, err := hex.DecodeString(string(h[16:])); err != nil {
		return 0, errors.New("not a SHA-1 in hex")
	}
	return binary.BigEndian.Uint64(sum[:]), nil
}

func (b *builder) spill(run []uint64) error {
	slices.Sort(run)
	f, err := b.temp()
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := binary.Write(w, binary.LittleEndian, run); err != nil {
		return fmt.Errorf("breached: spill: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("breached: spill: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	b.runs = append(b.runs, f)
	return nil
}

// write merges the runs, encodes the gaps into a bit stream and an index
// (both spilled to temporary files) and writes the filter.
func (b *builder) write(out io.Writer, lines int64) (Stats, error) {
	k := b.opts.Bits
	rangeN := uint64(lines)
	bitsFile, err := b.temp()
	if err != nil {
		return Stats{}, err
	}
	indexFile, err := b.temp()
	if err != nil {
		return Stats{}, err
	}
	bw := &bitWriter{w: bufio.NewWriterSize(bitsFile, 1<<20)}
	iw := bufio.NewWriterSize(indexFile, 1<<16)
	var count, points uint64
	var prev uint64
	next := b.merge()
	for {
		v, ok, err := next()
		if err != nil {
			return Stats{}, err
		}
		if !ok {
			break
		}
		x := mapKey(v, rangeN, k)
		if count > 0 && x == prev {
			continue // a duplicate, or two keys that map to one value
		}
		if count%indexEvery == 0 {
			// An index point holds the value itself; the gaps after it
			// start at the bit offset it records.
			if err := binary.Write(iw, binary.LittleEndian, [2]uint64{x, bw.pos}); err != nil {
				return Stats{}, err
			}
			points++
		} else {
			bw.rice(x-prev, k)
		}
		prev = x
		count++
		if count%(1<<20) == 0 {
			b.progress(Progress{Phase: "encode", Done: int64(count), Total: lines, Written: int64(count)})
		}
	}
	if err := bw.flush(); err != nil {
		return Stats{}, fmt.Errorf("breached: write: %w", err)
	}
	if err := iw.Flush(); err != nil {
		return Stats{}, fmt.Errorf("breached: write: %w", err)
	}
	b.progress(Progress{Phase: "encode", Done: int64(count), Total: lines, Written: int64(count)})

	head := make([]byte, 0, headerBytes)
	head = append(head, magic...)
	head = binary.LittleEndian.AppendUint64(head, count)
	head = binary.LittleEndian.AppendUint64(head, rangeN)
	head = append(head, k)
	head = binary.LittleEndian.AppendUint32(head, indexEvery)
	head = binary.LittleEndian.AppendUint64(head, points)
	head = binary.LittleEndian.AppendUint64(head, uint64(bw.bytes))
	n, err := out.Write(head)
	total := int64(n)
	if err != nil {
		return Stats{}, fmt.Errorf("breached: write: %w", err)
	}
	for _, f := range []*os.File{indexFile, bitsFile} {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Stats{}, err
		}
		n, err := io.Copy(out, f)
		total += n
		if err != nil {
			return Stats{}, fmt.Errorf("breached: write: %w", err)
		}
	}
	return Stats{Lines: lines, Entries: int64(count), Bytes: total}, nil
}

// merge returns an iterator over every key of every run, in order.
func (b *builder) merge() func() (uint64, bool, error) {
	h := &runHeap{}
	for _, f := range b.runs {
		r := &runReader{r: bufio.NewReaderSize(f, 1<<16)}
		if r.advance() {
			h.items = append(h.items, r)
		} else if r.err != nil {
			return func() (uint64, bool, error) { return 0, false, r.err }
		}
	}
	if len(b.last) > 0 {
		r := &runReader{mem: b.last}
		r.advance()
		h.items = append(h.items, r)
	}
	heap.Init(h)
	return func() (uint64, bool, error) {
		if h.Len() == 0 {
			return 0, false, nil
		}
		top := h.items[0]
		v := top.cur
		if top.advance() {
			heap.Fix(h, 0)
		} else {
			if top.err != nil {
				return 0, false, top.err
			}
			heap.Pop(h)
		}
		return v, true, nil
	}
}

type runReader struct {
	r   *bufio.Reader
	mem []uint64
	cur uint64
	err error
}

func (r *runReader) advance() bool {
	if r.r == nil {
		if len(r.mem) == 0 {
			return false
		}
		r.cur, r.mem = r.mem[0], r.mem[1:]
		return true
	}
	var buf [8]byte
	if _, err := io.ReadFull(r.r, buf[:]); err != nil {
		if err != io.EOF {
			r.err = fmt.Errorf("breached: read run: %w", err)
		}
		return false
	}
	r.cur = binary.LittleEndian.Uint64(buf[:])
	return true
}

type runHeap struct{ items []*runReader }

func (h *runHeap) Len() int           { return len(h.items) }
func (h *runHeap) Less(i, j int) bool { return h.items[i].cur < h.items[j].cur }
func (h *runHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *runHeap) Push(x any)         { h.items = append(h.items, x.(*runReader)) }
func (h *runHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

type bitWriter struct {
	w     *bufio.Writer
	acc   byte
	n     uint8  // bits in acc
	pos   uint64 // bits written
	bytes int64
	err   error
}

func (w *bitWriter) bit(b uint64) {
	w.acc = w.acc<<1 | byte(b&1)
	w.n++
	w.pos++
	if w.n == 8 {
		if w.err == nil {
			w.err = w.w.WriteByte(w.acc)
		}
		w.bytes++
		w.acc, w.n = 0, 0
	}
}

func (w *bitWriter) rice(v uint64, k uint8) {
	for q := v >> k; q > 0; q-- {
		w.bit(1)
	}
	w.bit(0)
	for i := int(k) - 1; i >= 0; i-- {
		w.bit(v >> uint(i))
	}
}

func (w *bitWriter) flush() error {
	if w.n > 0 {
		pad := 8 - w.n
		w.acc <<= pad
		if w.err == nil {
			w.err = w.w.WriteByte(w.acc)
		}
		w.bytes++
		w.acc, w.n = 0, 0
	}
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}
