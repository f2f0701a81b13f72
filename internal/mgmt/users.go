package mgmt

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// userView is a user as the API shows it: dates as ISO strings with
// milliseconds, never the password hash.
type userView struct {
	UserID            string             `json:"user_id"`
	Email             string             `json:"email,omitempty"`
	EmailVerified     bool               `json:"email_verified"`
	Username          string             `json:"username,omitempty"`
	PhoneNumber       string             `json:"phone_number,omitempty"`
	PhoneVerified     *bool              `json:"phone_verified,omitempty"`
	Name              string             `json:"name,omitempty"`
	Nickname          string             `json:"nickname,omitempty"`
	GivenName         string             `json:"given_name,omitempty"`
	FamilyName        string             `json:"family_name,omitempty"`
	Picture           string             `json:"picture,omitempty"`
	Blocked           bool               `json:"blocked,omitempty"`
	Groups            []string           `json:"groups,omitempty"`
	AppMetadata       map[string]any     `json:"app_metadata,omitempty"`
	UserMetadata      map[string]any     `json:"user_metadata,omitempty"`
	Identities        []identityResponse `json:"identities"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	LastLogin         string             `json:"last_login,omitempty"`
	LastIP            string             `json:"last_ip,omitempty"`
	LoginsCount       int                `json:"logins_count,omitempty"`
	LastPasswordReset string             `json:"last_password_reset,omitempty"`
}

func viewUser(u *store.User) any {
	v := &userView{
		UserID: u.UserID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		PhoneNumber: u.PhoneNumber, Name: u.Name, Nickname: u.Nickname, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Picture: u.Picture, Blocked: u.Blocked, Groups: u.Groups,
		AppMetadata: u.AppMetadata, UserMetadata: u.UserMetadata,
		CreatedAt: isoTime(u.CreatedAt), UpdatedAt: isoTime(u.UpdatedAt),
		LastLogin: isoTimePtr(u.LastLogin), LastIP: u.LastIP, LoginsCount: u.LoginsCount,
		LastPasswordReset: isoTimePtr(u.LastPasswordReset),
	}
	if u.PhoneNumber != "" {
		v.PhoneVerified = &u.PhoneVerified
	}
	v.Identities = make([]identityResponse, len(u.Identities))
	for i, id := range u.Identities {
		v.Identities[i] = identityResponse(id)
	}
	return v
}

// maxOffsetResult caps offset paging through users, as Auth0 does.
const maxOffsetResult = 1000

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.UserInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	u, err := h.tenant.CreateUser(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	u, err := h.tenant.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, viewUser(u))
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.UserInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	props := tenant.SetProperties(&in)
	if slices.Contains(props, "user_id") {
		return invalidBody("Additional properties not allowed: user_id")
	}
	// update:users_app_metadata alone may change only the metadata.
	if slices.ContainsFunc(props, func(s string) bool { return s != "app_metadata" && s != "user_metadata" }) {
		if err := requireScope(p, "update:users"); err != nil {
			return err
		}
	}
	u, err := h.tenant.UpdateUser(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// userSearch is what the q and connection parameters select.
type userSearch struct {
	query  store.UserQuery
	userID string
}

// parseUserQuery reads the subset of Auth0's Lucene syntax gatehouse
// supports: clauses field:value or field:"value" joined by AND, on email,
// user_id and identities.connection (or connection).
func parseUserQuery(q url.Values) (userSearch, error) {
	s := userSearch{query: store.UserQuery{Connection: q.Get("connection")}}
	raw := strings.TrimSpace(q.Get("q"))
	if raw == "" {
		return s, nil
	}
	for _, clause := range strings.Split(raw, " AND ") {
		field, value, ok := strings.Cut(strings.TrimSpace(clause), ":")
		if v, unq := strings.CutPrefix(value, `"`); unq {
			value, unq = strings.CutSuffix(v, `"`)
			ok = ok && unq
		}
		if !ok || value == "" || strings.ContainsAny(value, `*?"()`) {
			return s, invalidQuery("q", "Unsupported query %q (use field:\"value\" clauses joined by AND)", clause)
		}
		switch field {
		case "email":
			s.query.Email = value
		case "user_id":
			s.userID = value
		case "identities.connection", "connection":
			s.query.Connection = value
		default:
			return s, invalidQuery("q", "Searching by %s is not supported (email, user_id, identities.connection)", field)
		}
	}
	return s, nil
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, false)
	if err != nil {
		return err
	}
	if (lq.page+1)*lq.perPage > maxOffsetResult {
		return invalidQuery("page", "You can only page through the first %d records", maxOffsetResult)
	}
	if err := checkSort(q.Get("sort")); err != nil {
		return err
	}
	search, err := parseUserQuery(q)
	if err != nil {
		return err
	}
	users, total, err := h.searchUsers(r, search, store.Page{Page: lq.page, PerPage: lq.perPage})
	if err != nil {
		return err
	}
	items := make([]any, 0, len(users))
	for _, u := range users {
		x, err := project(viewUser(u), lq)
		if err != nil {
			return err
		}
		items = append(items, x)
	}
	writePage(w, lq, "users", items, lq.page*lq.perPage, total)
	return nil
}

// checkSort accepts Auth0's sort syntax (field:1 or field:-1). Results come
// in creation order whatever it says.
func checkSort(s string) error {
	if s == "" {
		return nil
	}
	field, dir, ok := strings.Cut(s, ":")
	if !ok || field == "" || (dir != "1" && dir != "-1") {
		return invalidQuery("sort", "Sort must be field:1 or field:-1")
	}
	return nil
}

func (h *handler) searchUsers(r *http.Request, s userSearch, pg store.Page) ([]*store.User, int, error) {
	if s.userID == "" {
		users, total, err := h.cfg.Store.ListUsers(r.Context(), s.query, pg)
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		return users, total, nil
	}
	u, err := h.cfg.Store.GetUser(r.Context(), s.userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get user: %w", err)
	}
	if (s.query.Email != "" && !strings.EqualFold(u.Email, s.query.Email)) ||
		(s.query.Connection != "" && u.Connection != s.query.Connection) {
		return nil, 0, nil
	}
	if pg.Offset() > 0 {
		return nil, 1, nil
	}
	return []*store.User{u}, 1, nil
}

func (h *handler) usersByEmail(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	email := q.Get("email")
	if email == "" {
		return invalidQuery("email", "Missing required property: email")
	}
	lq, err := parseListQuery(q, false)
	if err != nil {
		return err
	}
	users, err := listAll(func(pg store.Page) ([]*store.User, int, error) {
		return h.cfg.Store.ListUsers(r.Context(), store.UserQuery{Email: email}, pg)
	})
	if err != nil {
		return fmt.Errorf("list users by email: %w", err)
	}
	lq.page, lq.perPage, lq.totals = 0, len(users), false
	return writeSlice(w, lq, "users", users, viewUser)
}
