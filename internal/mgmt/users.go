package mgmt

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// userBody is the body of POST and PATCH /users. verify_email,
// verify_phone_number and client_id are accepted and ignored: gatehouse
// sends no verification messages.
type userBody struct {
	Connection        opt[string]         `json:"connection"`
	UserID            opt[string]         `json:"user_id"`
	Email             opt[string]         `json:"email"`
	EmailVerified     opt[bool]           `json:"email_verified"`
	VerifyEmail       opt[bool]           `json:"verify_email"`
	Username          opt[string]         `json:"username"`
	PhoneNumber       opt[string]         `json:"phone_number"`
	PhoneVerified     opt[bool]           `json:"phone_verified"`
	VerifyPhoneNumber opt[bool]           `json:"verify_phone_number"`
	Password          opt[string]         `json:"password"`
	GivenName         opt[string]         `json:"given_name"`
	FamilyName        opt[string]         `json:"family_name"`
	Name              opt[string]         `json:"name"`
	Nickname          opt[string]         `json:"nickname"`
	Picture           opt[string]         `json:"picture"`
	Blocked           opt[bool]           `json:"blocked"`
	AppMetadata       opt[map[string]any] `json:"app_metadata"`
	UserMetadata      opt[map[string]any] `json:"user_metadata"`
	ClientID          opt[string]         `json:"client_id"`
}

// userView is a user as the API shows it: dates as ISO strings with
// milliseconds, never the password hash.
type userView struct {
	UserID            string           `json:"user_id"`
	Email             string           `json:"email,omitempty"`
	EmailVerified     bool             `json:"email_verified"`
	Username          string           `json:"username,omitempty"`
	PhoneNumber       string           `json:"phone_number,omitempty"`
	PhoneVerified     *bool            `json:"phone_verified,omitempty"`
	Name              string           `json:"name,omitempty"`
	Nickname          string           `json:"nickname,omitempty"`
	GivenName         string           `json:"given_name,omitempty"`
	FamilyName        string           `json:"family_name,omitempty"`
	Picture           string           `json:"picture,omitempty"`
	Blocked           bool             `json:"blocked,omitempty"`
	AppMetadata       map[string]any   `json:"app_metadata,omitempty"`
	UserMetadata      map[string]any   `json:"user_metadata,omitempty"`
	Identities        []store.Identity `json:"identities"`
	CreatedAt         string           `json:"created_at"`
	UpdatedAt         string           `json:"updated_at"`
	LastLogin         string           `json:"last_login,omitempty"`
	LastIP            string           `json:"last_ip,omitempty"`
	LoginsCount       int              `json:"logins_count,omitempty"`
	LastPasswordReset string           `json:"last_password_reset,omitempty"`
}

func viewUser(u *store.User) any {
	v := &userView{
		UserID: u.UserID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		PhoneNumber: u.PhoneNumber, Name: u.Name, Nickname: u.Nickname, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Picture: u.Picture, Blocked: u.Blocked,
		AppMetadata: u.AppMetadata, UserMetadata: u.UserMetadata, Identities: u.Identities,
		CreatedAt: isoTime(u.CreatedAt), UpdatedAt: isoTime(u.UpdatedAt),
		LastLogin: isoTimePtr(u.LastLogin), LastIP: u.LastIP, LoginsCount: u.LoginsCount,
		LastPasswordReset: isoTimePtr(u.LastPasswordReset),
	}
	if u.PhoneNumber != "" {
		v.PhoneVerified = &u.PhoneVerified
	}
	if v.Identities == nil {
		v.Identities = []store.Identity{}
	}
	return v
}

// Database user ids and profile limits (Auth0's).
const (
	dbProvider      = "auth0"
	maxUserIDPart   = 255
	maxNamePart     = 150 // given_name, family_name
	maxName         = 300 // name, nickname
	maxEmail        = 254
	maxOffsetResult = 1000
)

func userExists() *apiError {
	return &apiError{Status: http.StatusConflict, Code: "auth0_idp_error", Message: "The user already exists."}
}

func weakPassword(err error) error {
	var pe *database.PolicyError
	if errors.As(err, &pe) {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_password", Message: pe.Error()}
	}
	return err
}

// dbConnection finds the database connection a user body names.
func (h *handler) dbConnection(r *http.Request, name string) (*store.Connection, database.Options, error) {
	conn, err := h.cfg.Store.ConnectionByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, database.Options{}, &apiError{Status: http.StatusBadRequest, Code: codeNoConnection,
			Message: "The connection does not exist."}
	}
	if err != nil {
		return nil, database.Options{}, fmt.Errorf("load connection %q: %w", name, err)
	}
	if conn.Strategy != strategyDatabase {
		return nil, database.Options{}, invalidProp("connection",
			"Connection %s is not a database connection (strategy %s)", name, conn.Strategy)
	}
	opts, err := database.ParseOptions(conn.Options)
	if err != nil {
		return nil, database.Options{}, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	return conn, opts, nil
}

func (h *handler) hashPassword(password string) (string, error) {
	if h.cfg.Hasher == nil {
		return "", errors.New("mgmt: no password hasher configured")
	}
	hash, err := h.cfg.Hasher.Hash(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b userBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	for _, name := range []string{"client_id", "verify_phone_number"} {
		if slices.Contains(setProperties(&b), name) {
			return invalidBody("Additional properties not allowed: %s", name)
		}
	}
	if !b.Connection.Set {
		return invalidBody("Missing required property: connection")
	}
	conn, opts, err := h.dbConnection(r, b.Connection.V)
	if err != nil {
		return err
	}
	switch {
	case opts.RequiresUsername && !b.Username.Set:
		return invalidBody("Missing required property: username")
	case !opts.RequiresUsername && !b.Email.Set:
		return invalidBody("Missing required property: email")
	case !b.Password.Set:
		return invalidBody("Missing required property: password")
	}
	idPart := ids.Hex(12)
	if b.UserID.Set {
		idPart = strings.TrimPrefix(b.UserID.V, dbProvider+"|")
		if idPart == "" || utf8.RuneCountInString(idPart) > maxUserIDPart || strings.ContainsFunc(idPart, unicode.IsSpace) {
			return invalidProp("user_id", "user_id must be 1 to %d characters without spaces", maxUserIDPart)
		}
	}
	now := h.now()
	u := &store.User{
		UserID:       dbProvider + "|" + idPart,
		ConnectionID: conn.ID,
		Connection:   conn.Name,
		Identities:   []store.Identity{{Connection: conn.Name, UserID: idPart, Provider: dbProvider}},
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := applyUser(u, &b, opts); err != nil {
		return err
	}
	setDefaultProfile(u)
	if err := database.CheckPolicy(opts, b.Password.V, u); err != nil {
		return weakPassword(err)
	}
	if u.PasswordHash, err = h.hashPassword(b.Password.V); err != nil {
		return err
	}
	if err := h.cfg.Store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return userExists()
		}
		return err
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

// setDefaultProfile fills name, nickname and picture as Auth0 does.
func setDefaultProfile(u *store.User) {
	local, _, _ := strings.Cut(u.Email, "@")
	if u.Name == "" {
		u.Name = cmp.Or(u.Email, u.Username)
	}
	if u.Nickname == "" {
		u.Nickname = cmp.Or(local, u.Username)
	}
	if u.Picture == "" {
		u.Picture = gravatarURL(u.Email, u.Nickname)
	}
}

// gravatarURL is Auth0's default picture: the Gravatar of the email,
// falling back to an image of the first two letters of the nickname.
func gravatarURL(email, nickname string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	initials := []rune(strings.ToLower(nickname))
	initials = initials[:min(2, len(initials))]
	fallback := "https://cdn.auth0.com/avatars/" + string(initials) + ".png"
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg&d=" + url.QueryEscape(fallback)
}

// applyUser copies the profile properties of b onto u and validates them.
// The password is the caller's business.
func applyUser(u *store.User, b *userBody, opts database.Options) error {
	if b.Email.Set {
		email := strings.ToLower(strings.TrimSpace(b.Email.V))
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > maxEmail {
			return invalidProp("email", "Object didn't pass validation for format email: %s", b.Email.V)
		}
		if email != u.Email {
			u.Email, u.EmailVerified = email, false
		}
	}
	if b.Username.Set {
		if !opts.RequiresUsername {
			return invalidProp("username", "Cannot set username for connection without requires_username")
		}
		lo, hi := opts.UsernameBounds()
		n := utf8.RuneCountInString(b.Username.V)
		if n < lo || n > hi || strings.ContainsFunc(b.Username.V, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			return invalidProp("username", "Username must be %d to %d printable characters without spaces", lo, hi)
		}
		u.Username = b.Username.V
	}
	for _, f := range []struct {
		name string
		dst  *string
		o    opt[string]
		max  int
	}{
		{"given_name", &u.GivenName, b.GivenName, maxNamePart},
		{"family_name", &u.FamilyName, b.FamilyName, maxNamePart},
		{"name", &u.Name, b.Name, maxName},
		{"nickname", &u.Nickname, b.Nickname, maxName},
		{"picture", &u.Picture, b.Picture, 2048},
		{"phone_number", &u.PhoneNumber, b.PhoneNumber, 32},
	} {
		if f.o.Set && utf8.RuneCountInString(f.o.V) > f.max {
			return invalidProp(f.name, "String is too long (max %d chars)", f.max)
		}
		setIf(f.dst, f.o)
	}
	setIf(&u.EmailVerified, b.EmailVerified)
	setIf(&u.PhoneVerified, b.PhoneVerified)
	setIf(&u.Blocked, b.Blocked)
	if b.AppMetadata.Set {
		u.AppMetadata = mergeMetadata(u.AppMetadata, b.AppMetadata.V)
	}
	if b.UserMetadata.Set {
		u.UserMetadata = mergeMetadata(u.UserMetadata, b.UserMetadata.V)
	}
	return nil
}

// mergeMetadata merges patch into a copy of cur at the top level; a null
// value deletes its key. An empty result is nil.
func mergeMetadata(cur, patch map[string]any) map[string]any {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	u, err := h.cfg.Store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoUser, msgNoUser)
	}
	return writeOne(w, r, http.StatusOK, viewUser(u))
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b userBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	props := setProperties(&b)
	if slices.Contains(props, "user_id") {
		return invalidBody("Additional properties not allowed: user_id")
	}
	// update:users_app_metadata alone may change only the metadata.
	if slices.ContainsFunc(props, func(s string) bool { return s != "app_metadata" && s != "user_metadata" }) {
		if err := requireScope(p, "update:users"); err != nil {
			return err
		}
	}
	cur, err := h.cfg.Store.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoUser, msgNoUser)
	}
	credentialChange := b.Password.Set || b.Email.Set || b.Username.Set
	if b.Password.Set && (b.Email.Set || b.Username.Set) {
		return invalidBody("Cannot update password and email or username simultaneously")
	}
	if credentialChange && !b.Connection.Set {
		return invalidBody("Missing required property: connection (needed to change email, username or password)")
	}
	if b.Connection.Set && b.Connection.V != cur.Connection {
		return invalidProp("connection", "The user does not belong to connection %s", b.Connection.V)
	}
	var opts database.Options
	if credentialChange {
		if _, opts, err = h.dbConnection(r, cur.Connection); err != nil {
			return err
		}
	}
	// Validate, check the policy and hash before the write transaction, so
	// the slow hash does not hold it.
	preview := *cur
	if err := applyUser(&preview, &b, opts); err != nil {
		return err
	}
	var hash string
	if b.Password.Set {
		if err := database.CheckPolicy(opts, b.Password.V, &preview); err != nil {
			return weakPassword(err)
		}
		if hash, err = h.hashPassword(b.Password.V); err != nil {
			return err
		}
	}
	now := h.now()
	u, err := h.cfg.Store.UpdateUser(r.Context(), cur.UserID, func(u *store.User) error {
		if err := applyUser(u, &b, opts); err != nil {
			return err
		}
		if hash != "" {
			u.PasswordHash, u.LastPasswordReset = hash, &now
		}
		u.UpdatedAt = now
		return nil
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return userExists()
	case err != nil:
		return lookupErr(err, codeNoUser, msgNoUser)
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.cfg.Store.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return lookupErr(err, codeNoUser, msgNoUser)
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
