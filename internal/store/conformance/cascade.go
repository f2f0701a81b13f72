package conformance

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testDeleteClientCascades: deleting a client leaves nothing that names it
// (a client re-created with the same id must not inherit grants, refresh
// tokens or connections), and touches nothing of another client.
func testDeleteClientCascades(t *testing.T, s store.Store) {
	for _, id := range []string{"client-a", "client-b"} {
		must(t, s.CreateClient(ctx(t), newClient(id)))
		must(t, s.CreateClientGrant(ctx(t), newGrant("cgr_"+id, id, "https://api.test/")))
		must(t, s.CreateRefreshFamily(ctx(t), newFamily("fam_"+id, "auth0|1", id, "https://api.test/")))
	}
	must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0"))) // enables a and b
	must(t, s.CreateConnection(ctx(t), newConnection("con_2", "corp", "ad")))  // enables a and b
	other := newConnection("con_3", "other", "auth0")
	other.EnabledClients = []string{"client-b"}
	must(t, s.CreateConnection(ctx(t), other))

	must(t, s.DeleteClient(ctx(t), "client-a"))

	_, err := s.GetClientGrant(ctx(t), "cgr_client-a")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.FindClientGrant(ctx(t), "client-a", "https://api.test/")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetRefreshFamily(ctx(t), "fam_client-a")
	wantErr(t, err, store.ErrNotFound)
	ok[*store.ClientGrant](t)(s.GetClientGrant(ctx(t), "cgr_client-b"))
	ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "fam_client-b"))
	for _, id := range []string{"con_1", "con_2", "con_3"} {
		c := ok[*store.Connection](t)(s.GetConnection(ctx(t), id))
		wantEqual(t, "EnabledClients of "+id, c.EnabledClients, []string{"client-b"})
	}
	// The rest of a rewritten connection is as it was.
	want := newConnection("con_1", "db", "auth0")
	want.EnabledClients = []string{"client-b"}
	wantEqual(t, "GetConnection con_1", ok[*store.Connection](t)(s.GetConnection(ctx(t), "con_1")), want)

	// The id is free again, with nothing attached.
	must(t, s.CreateClient(ctx(t), newClient("client-a")))
	must(t, s.CreateClientGrant(ctx(t), newGrant("cgr_new", "client-a", "https://api.test/")))
	wantErr(t, s.DeleteClient(ctx(t), "client-z"), store.ErrNotFound)
}
