package breached

import (
	"bytes"
	_ "embed"
	"sync"
)

//go:embed data/common-passwords.ghbf
var commonFilter []byte

// Common returns the filter gatehouse ships: the 49,233 most common leaked
// passwords (see data/README.md for the source and how to rebuild it).
var Common = sync.OnceValue(func() *Filter {
	f, err := Load(bytes.NewReader(commonFilter))
	if err != nil {
		panic("breached: the embedded filter is corrupt: " + err.Error())
	}
	return f
})
