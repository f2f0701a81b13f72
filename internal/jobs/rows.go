package jobs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrRowTooLarge means one row of an import file is larger than the row
// limit: the file cannot be read past it within bounded memory.
var ErrRowTooLarge = errors.New("row too large")

// rowReader streams the rows of an import file one at a time: a JSON array
// of objects (Auth0's import format) or newline-delimited objects (Auth0's
// export format, so an export imports as it is). The file is never read
// whole: json.Decoder holds one row, and a guard under it refuses to
// buffer more than maxRow bytes for a single row.
type rowReader struct {
	dec   *json.Decoder
	guard *rowGuard
	array bool
	done  bool
	index int
}

// rowGuard counts the bytes handed to the decoder and fails a read that
// would make the row being decoded longer than max.
type rowGuard struct {
	r        io.Reader
	read     int64 // bytes handed out
	rowStart int64 // decoder offset where the current row began
	max      int64
}

func (g *rowGuard) Read(p []byte) (int, error) {
	room := g.max - (g.read - g.rowStart) + 1
	if room <= 0 {
		return 0, ErrRowTooLarge
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

func newRowReader(r io.Reader, maxRow int64) (*rowReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Skip a UTF-8 byte order mark and leading space to see the format.
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("the users file is empty")
			}
			return nil, fmt.Errorf("read the users file: %w", err)
		}
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			br.Discard(3)
			continue
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r' {
			br.Discard(1)
			continue
		}
		if b[0] != '[' && b[0] != '{' {
			return nil, errors.New("the users file must be a JSON array of user objects (or one JSON object per line)")
		}
		g := &rowGuard{r: br, max: maxRow}
		rr := &rowReader{dec: json.NewDecoder(g), guard: g, array: b[0] == '['}
		if rr.array {
			if _, err := rr.dec.Token(); err != nil {
				return nil, fmt.Errorf("read the users file: %w", err)
			}
		}
		return rr, nil
	}
}

// next returns the next row as raw JSON and its index, or io.EOF after
// the last. A syntax error or an oversized row ends the file: the rows
// before it stand.
func (rr *rowReader) next() (json.RawMessage, int, error) {
	if rr.done {
		return nil, 0, io.EOF
	}
	rr.guard.rowStart = rr.dec.InputOffset()
	if !rr.dec.More() {
		rr.done = true
		if rr.array {
			if _, err := rr.dec.Token(); err != nil {
				return nil, 0, rr.wrap(err)
			}
		}
		if _, err := rr.dec.Token(); err != io.EOF {
			return nil, 0, fmt.Errorf("row %d: unexpected data after the users", rr.index)
		}
		return nil, 0, io.EOF
	}
	var raw json.RawMessage
	if err := rr.dec.Decode(&raw); err != nil {
		rr.done = true
		return nil, 0, rr.wrap(err)
	}
	i := rr.index
	rr.index++
	return raw, i, nil
}

func (rr *rowReader) wrap(err error) error {
	if errors.Is(err, ErrRowTooLarge) {
		return fmt.Errorf("row %d is larger than %d bytes: %w", rr.index, rr.guard.max, ErrRowTooLarge)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("row %d: the users file is not valid JSON at byte %d: %v", rr.index, se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("row %d: the users file ends in the middle of a row", rr.index)
	}
	return fmt.Errorf("row %d: %w", rr.index, err)
}
