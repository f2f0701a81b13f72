package sqlstore

import "fmt"

// sealSecret seals a secret for the row named by aad; an empty secret is
// stored as NULL.
func (s *Store) sealSecret(plain []byte, aad string) ([]byte, error) {
	if len(plain) == 0 {
		return nil, nil
	}
	sealed, err := s.sealer.Seal(plain, aad)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", aad, err)
	}
	return sealed, nil
}

// openSecret reverses sealSecret.
func (s *Store) openSecret(sealed []byte, aad string) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	plain, err := s.sealer.Open(sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", aad, err)
	}
	return plain, nil
}
