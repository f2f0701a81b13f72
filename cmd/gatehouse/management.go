package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// mgmtPath is the Management API's identifier relative to the issuer.
const mgmtPath = "api/v2/"

// managementState is what the database says about who may call the
// Management API: the issuers it has a Management API for, and how many
// applications hold a grant for each.
type managementState struct {
	grants map[string]int // issuer -> applications with a client grant for its Management API
	order  []string       // issuers in the database's order
}

// readManagementState lists the system Management APIs of st and counts
// their client grants. The Management API's identifier is the issuer plus
// api/v2/, so each one names an issuer the database was served under.
func readManagementState(ctx context.Context, st interface {
	store.ResourceServers
	store.ClientGrants
}) (managementState, error) {
	s := managementState{grants: map[string]int{}}
	for page := 0; ; page++ {
		list, total, err := st.ListResourceServers(ctx, store.Page{Page: page, PerPage: 100})
		if err != nil {
			return s, fmt.Errorf("list APIs: %w", err)
		}
		for _, rs := range list {
			if !rs.IsSystem || !strings.HasSuffix(rs.Identifier, "/"+mgmtPath) {
				continue
			}
			_, n, err := st.ListClientGrants(ctx, "", rs.Identifier, store.Page{PerPage: 1})
			if err != nil {
				return s, fmt.Errorf("list client grants: %w", err)
			}
			issuer := strings.TrimSuffix(rs.Identifier, mgmtPath)
			s.grants[issuer] = n
			s.order = append(s.order, issuer)
		}
		if (page+1)*100 >= total || len(list) == 0 {
			return s, nil
		}
	}
}

// has reports whether the database has a Management API for issuer.
func (s managementState) has(issuer string) bool {
	_, ok := s.grants[issuer]
	return ok
}

// othersWithApplications lists the issuers other than issuer whose
// Management API some application may call.
func (s managementState) othersWithApplications(issuer string) []string {
	var out []string
	for _, iss := range s.order {
		if iss != issuer && s.grants[iss] > 0 {
			out = append(out, iss)
		}
	}
	return out
}

// notices are the operator messages serve prints after start about the
// Management API: a changed issuer that left the management applications
// behind, or no management application at all.
func (s managementState) notices(issuer string) []string {
	if s.grants[issuer] > 0 {
		return nil
	}
	if old := s.othersWithApplications(issuer); len(old) > 0 {
		return []string{fmt.Sprintf("The issuer changed: this database was served as %s and is now served as %s. "+
			"Applications authorized for the old Management API (%s%s) cannot get tokens for the new one (%s%s), "+
			"and tokens issued under the old issuer are no longer accepted. To go back, start with --issuer %s. "+
			"To keep the new issuer, run `gatehouse bootstrap --issuer %s` (or set GATEHOUSE_BOOTSTRAP_CLIENT_ID and "+
			"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET) for new management credentials, and point your applications and APIs at the new issuer.",
			strings.Join(old, ", "), issuer, old[0], mgmtPath, issuer, mgmtPath, old[0], issuer)}
	}
	return []string{"No management credentials configured. Set GATEHOUSE_BOOTSTRAP_CLIENT_ID and " +
		"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET, or run `gatehouse bootstrap` to create an application for the Management API."}
}
