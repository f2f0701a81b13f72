// Package server assembles gatehouse: it opens the store, loads the keys,
// bootstraps the tenant, and serves the route table (App.routes, in
// app.go) behind one middleware chain (middleware.go: the request id in
// the context, the client IP, panic recovery, the access log).
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/directory/strategies"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/jobs"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/mgmt"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/grants"
	"github.com/gatehouse/gatehouse/internal/oauth/mfaapi"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/postlogin"
	"github.com/gatehouse/gatehouse/internal/protect"
	"github.com/gatehouse/gatehouse/internal/protect/breached"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/selfservice"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/cache"
	"github.com/gatehouse/gatehouse/internal/store/housekeeping"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenantlog"
	"github.com/gatehouse/gatehouse/internal/tokens"
	"github.com/prometheus/client_golang/prometheus"
)

// App is a running gatehouse: its store, keys and HTTP handler.
type App struct {
	Config  config.Config
	Store   store.Store
	Keys    *keys.Manager
	Hasher  *passwords.Hasher
	Handler http.Handler
	Log     *slog.Logger
	// Notices are messages for the operator printed once at start.
	Notices []string
	// Metrics are this App's Prometheus collectors (see ops.go).
	Metrics *metrics.Metrics
	// Jobs runs users imports and exports in the background.
	Jobs *jobs.Service
	// HashThreads is how many low-priority threads compute password hashes
	// (--hash-nice); serve raises GOMAXPROCS by as many.
	HashThreads int

	now         func() time.Time
	storeOpts   []sqlstore.Option
	configCache *cache.Store       // the configuration cache in front of Store, polled while serving
	configPoll  time.Duration      // how often the cache polls the configuration version
	limit       *passwords.Limiter // password hashes at once
	hooks       oauth.Hooks        // the token pipeline's hook phases
	codeKey     []byte             // keys the hashes of one-time MFA codes; shared by nodes with the master secret
	mailer      notify.Mailer      // email (links, codes); the log without an SMTP server
	sms         notify.SMS         // text messages (codes); the log without a provider
	breached    breached.Checker   // breached password detection's list: the shipped filter, --breached-filter, a range API
	guard       *protect.Guard     // attack protection: the token pipeline's guard, and signups' CheckSignup
	sandbox     *scripts.Sandbox   // runs rules, Actions and custom database scripts; made on first use
	tenantLog   *tenantlog.Buffer  // the tenant's log: events stored in batches off the request path
	logStream   io.Closer          // the --log-stream file, if one is open
	logOpts     []func(*tenantlog.Options)
	routeList   []string // every route's "METHOD /path" pattern (Routes)
}

// Routes lists the pattern ("METHOD /path", in net/http.ServeMux's syntax)
// of every route the App serves, the Management API's included, so that
// tests can reach each one, those added later too.
func (a *App) Routes() []string { return slices.Clone(a.routeList) }

// WithTenantLog changes the tenant log's buffer options (tests make the
// queue small, the flush slow, or the stream a buffer).
func WithTenantLog(f func(*tenantlog.Options)) Option {
	return func(a *App) { a.logOpts = append(a.logOpts, f) }
}

// WithNotifiers sends email and text messages (MFA codes) through mailer
// and sms instead of writing them to the log; a nil one keeps the log.
func WithNotifiers(mailer notify.Mailer, sms notify.SMS) Option {
	return func(a *App) { a.mailer, a.sms = mailer, sms }
}

// Option changes how Open assembles the App.
type Option func(*App)

// WithScriptOptions sets the limits of the JavaScript sandbox that runs
// rules, Actions and custom database scripts (tests shorten the time limit).
func WithScriptOptions(opts scripts.Options) Option {
	return func(a *App) {
		if opts.Logger == nil {
			opts.Logger = a.Log
		}
		sb, err := scripts.New(opts)
		if err != nil {
			panic(err)
		}
		a.sandbox = sb
	}
}

// WithClock makes the App read time from now (tests move it forward).
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// WithLogger makes the App log to log rather than to the logger Open was
// given (tests read what a request logged).
func WithLogger(log *slog.Logger) Option {
	return func(a *App) { a.Log = withRequestIDs(log) }
}

// WithConfigPoll sets how often the configuration cache polls the
// configuration version (default cache.DefaultPoll). Tests make it long to
// show that PostgreSQL's announcements alone keep nodes in step.
func WithConfigPoll(d time.Duration) Option { return func(a *App) { a.configPoll = d } }

// WithHooks fills the token pipeline's hook phases (guards, post-login,
// the MFA gate, the events emitter); a nil field keeps its default.
func WithHooks(h oauth.Hooks) Option { return func(a *App) { a.hooks = h } }

// WithStoreOptions passes options to the SQL store.
func WithStoreOptions(opts ...sqlstore.Option) Option {
	return func(a *App) { a.storeOpts = append(a.storeOpts, opts...) }
}

// Open builds an App from cfg: it opens (and migrates) the database,
// creates the signing keys on first start and applies the bootstrap
// settings.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	log = withRequestIDs(log)
	sealer, notice, err := openSealer(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, func(a *App) { a.codeKey = sealer.DeriveKey("gatehouse mfa one-time codes v1") })
	var pre App
	for _, o := range opts {
		o(&pre)
	}
	st, err := sqlstore.Open(ctx, cfg.Database, sealer, append([]sqlstore.Option{sqlstore.WithMaxConns(cfg.DBMaxConns)}, pre.storeOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// The metrics exist before the store is wrapped: store latency is
	// timed under the cache, where the database is.
	m := metrics.New()
	configCache := cache.New(ctx, m.TimeStore(st), log)
	app, err := assemble(ctx, cfg, configCache, log, append([]Option{func(a *App) { a.Metrics = m }}, opts...))
	if err != nil {
		st.Close()
		return nil, err
	}
	app.configCache = configCache
	if notice != "" {
		app.Notices = append(app.Notices, notice)
	}
	return app, nil
}

// withRequestIDs wraps log, once, so that every line logged with a
// request's context carries its request_id, whichever package logs it.
func withRequestIDs(log *slog.Logger) *slog.Logger {
	if _, done := log.Handler().(*logging.Handler); done {
		return log
	}
	return slog.New(logging.NewHandler(log.Handler()))
}

func assemble(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger, opts []Option) (*App, error) {
	log = withRequestIDs(log)
	hasher, err := passwords.NewHasher(passwords.Algorithm(cfg.PasswordHash), passwords.Argon2Params{}, 0)
	if err != nil {
		return nil, err
	}
	hasher.Collector = passwords.NewCollector()
	app := &App{Config: cfg, Store: st, Hasher: hasher, Log: log, now: time.Now,
		limit: passwords.NewLimiter(cfg.HashConcurrency, 32*cfg.HashConcurrency, time.Second)}
	for _, o := range opts {
		o(app)
	}
	if cfg.HashNice > 0 {
		n, err := app.limit.RunAtLowPriority(cfg.HashNice)
		if err != nil {
			log.Warn("password hashes run at the process's priority", "error", err)
		}
		app.HashThreads = n
	}
	if err := app.openNotifiers(); err != nil {
		return nil, err
	}
	if app.breached, err = openBreached(cfg); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.Issuer)
	if app.Metrics == nil {
		app.Metrics = metrics.New()
	}
	if err := app.openTenantLog(u.Hostname()); err != nil {
		return nil, err
	}
	app.Keys = keys.NewManager(st, u.Hostname(), app.now)
	if err := app.Keys.Init(ctx); err != nil {
		app.closeTenantLog()
		return nil, err
	}
	if err := app.bootstrap(ctx); err != nil {
		app.closeTenantLog()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	app.Handler = app.routes()
	return app, nil
}

// openTenantLog starts the buffer that stores the tenant's log events and,
// with --log-stream, opens the stream they are copied to.
func (a *App) openTenantLog(hostname string) error {
	o := tenantlog.Options{Store: a.Store, Hostname: hostname, Log: a.Log, Now: a.now, Dropped: a.Metrics.LogEventsDropped}
	switch a.Config.LogStream {
	case "":
	case "stdout":
		o.Stream = os.Stdout
	default:
		// Events name users and their IPs: the file is the owner's alone.
		f, err := os.OpenFile(a.Config.LogStream, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("--log-stream: %w", err)
		}
		o.Stream, a.logStream = f, f
	}
	for _, f := range a.logOpts {
		f(&o)
	}
	a.tenantLog = tenantlog.New(o)
	a.Metrics.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_log_events_queued",
		Help: "Tenant log events waiting to be stored.",
	}, func() float64 { return float64(a.tenantLog.Queued()) }))
	return nil
}

// closeTenantLog stores what the tenant log's buffer holds, stops it and
// closes the stream.
func (a *App) closeTenantLog() error {
	if a.tenantLog == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := a.tenantLog.Close(ctx)
	if a.logStream != nil {
		err = errors.Join(err, a.logStream.Close())
	}
	return err
}

// FlushLogs stores every tenant log event emitted so far.
func (a *App) FlushLogs(ctx context.Context) error { return a.tenantLog.Flush(ctx) }

// openNotifiers sends email through the configured SMTP server and text
// messages through the configured SMS provider, unless an option chose
// others; without either, messages go to the log at warn level.
func (a *App) openNotifiers() error {
	cfg := a.Config
	if a.mailer == nil && cfg.SMTPHost != "" {
		m, err := notify.NewSMTP(notify.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUser,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, From: cfg.SMTPFrom})
		if err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
		a.mailer = m
	}
	if a.mailer == nil {
		a.mailer = notify.LogMailer{Logger: a.Log}
	}
	if a.sms == nil && cfg.SMSAccountSID != "" {
		a.sms = &notify.Twilio{BaseURL: cfg.SMSURL, AccountSID: cfg.SMSAccountSID, AuthToken: cfg.SMSAuthToken, From: cfg.SMSFrom}
	}
	if a.sms == nil {
		a.sms = notify.LogSMS{Logger: a.Log}
	}
	return nil
}

// openSealer loads the master secret: GATEHOUSE_SECRET, or for SQLite a
// file next to the database, generated on first start.
func openSealer(cfg config.Config) (*seal.AEAD, string, error) {
	if cfg.Secret != "" {
		s, err := seal.New(seal.ParseSecret(cfg.Secret))
		return s, "", err
	}
	if cfg.IsPostgres() {
		return nil, "", errors.New("GATEHOUSE_SECRET must be set with PostgreSQL: every node needs the same master secret")
	}
	path := cfg.SQLitePath() + ".secret"
	secret, created, err := seal.LoadOrCreateFile(path)
	if err != nil {
		return nil, "", err
	}
	s, err := seal.New(secret)
	if err != nil {
		return nil, "", err
	}
	notice := ""
	if created {
		notice = "GATEHOUSE_SECRET is not set: generated a master secret in " + path +
			"; back it up with the database (without it the stored secrets cannot be read)"
	}
	return s, notice, nil
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	if a.Config.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(a.Config.TLSCert, a.Config.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	go a.limit.TrimWhenIdle(ctx, 5*time.Second, debug.FreeOSMemory)
	// Expired refresh families, used jtis, drained attack counters and old
	// log events go in the background, on one node at a time.
	cleaner := &housekeeping.Cleaner{Store: a.Store, Now: a.now, Log: a.Log, Counters: a.Store,
		Logs: a.Store, LogRetention: time.Duration(a.Config.LogRetentionDays) * 24 * time.Hour}
	go cleaner.Run(ctx, housekeeping.DefaultInterval)
	// Breached password detection's daily, weekly and monthly summaries,
	// each sent by one node.
	digests := &protect.Digests{Store: a.Store, Notices: a.admins(), Now: a.now, Log: a.Log}
	go digests.Run(ctx, housekeeping.DefaultInterval)
	// Jobs whose node stopped are marked failed (they are not resumed).
	go a.Jobs.Run(ctx)
	if a.configCache != nil {
		// Keys reload whenever another node changes the configuration, so
		// a rotation made there reaches this node as soon as PostgreSQL
		// announces it (or within a poll). Compiled scripts need nothing:
		// they are cached by the hash of their source, which the rules
		// read through the configuration cache carry.
		poll := a.configPoll
		if poll <= 0 {
			poll = cache.DefaultPoll
		}
		cacheDone := make(chan struct{})
		go func() {
			defer close(cacheDone)
			a.configCache.Run(ctx, poll, func() {
				if err := a.Keys.Reload(ctx); err != nil && ctx.Err() == nil {
					a.Log.Warn("reload signing keys", slog.Any("err", err))
				}
			})
		}()
		// After a shutdown, its listening connection is closed before
		// Serve returns.
		defer func() {
			if ctx.Err() != nil {
				<-cacheDone
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Every request has been answered: what they logged is stored now.
	if err := a.tenantLog.Flush(shutdown); err != nil {
		a.Log.Error("tenant log: flush at shutdown", slog.Any("err", err))
	}
	return nil
}

// Guard is the App's attack protection: the token pipeline's guard, and
// CheckSignup for the signup endpoint (suspicious IP throttling's
// pre-user-registration stage).
func (a *App) Guard() *protect.Guard { return a.guard }

// Close stores the tenant log's last events, then releases the store.
func (a *App) Close() error {
	a.limit.Stop()
	err := a.closeTenantLog()
	return errors.Join(err, a.Store.Close())
}

// admins is where the administrators' notices go: --admin-email through
// the mailer, or the log.
func (a *App) admins() *protect.AdminNotices {
	return &protect.AdminNotices{To: a.Config.AdminEmail, Mailer: a.mailer, Log: a.Log}
}

// mgmtAudience is the Management API's identifier.
func (a *App) mgmtAudience() string { return a.Config.Issuer + "api/v2/" }

// minter returns the token minter of this app.
func (a *App) minter() *tokens.Minter { return &tokens.Minter{Issuer: a.Config.Issuer, Keys: a.Keys} }

// storeless asks a connection's strategy about a user at refresh time only
// when the user lives outside the store: the refresh grant has just read a
// database ("auth0") user from the store itself, so asking the database
// strategy would read it again for nothing (a round trip per refresh).
type storeless struct{ directory.UserChecker }

func (s storeless) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	if conn.Strategy == database.Name {
		return nil
	}
	return s.UserChecker.CheckUser(ctx, conn, user)
}

// CheckSession forwards to the strategies' session check when they have one.
func (s storeless) CheckSession(ctx context.Context, conn *store.Connection, user *store.User, session []byte) ([]byte, error) {
	if sc, ok := s.UserChecker.(directory.SessionChecker); ok && conn.Strategy != database.Name {
		return sc.CheckSession(ctx, conn, user, session)
	}
	return session, s.CheckUser(ctx, conn, user)
}

// emitter is where the pipeline and the domain layer send Auth0 log
// events: the one an option set, else the process log; and the tenant's
// stored log.
func (a *App) emitter() events.Emitter {
	var base events.Emitter = events.Log{Logger: a.Log}
	if a.hooks.Events != nil {
		base = a.hooks.Events
	}
	if a.tenantLog == nil {
		return base
	}
	return events.Multi{base, a.tenantLog}
}

// routes is the whole route table.
func (a *App) routes() http.Handler {
	minter := a.minter()
	ca := &oauth.ClientAuthenticator{Clients: a.Store, Nonces: a.Store, Audience: a.Config.Issuer, Now: a.now}
	dir := strategies.New(strategies.Config{Users: a.Store, Hasher: a.Hasher, Limit: a.limit, Logger: a.Log, Sandbox: a.scripts()})
	// The hooks are the no-op defaults unless an option set them: attack
	// protection fills Guard, rules and Actions PostLogin, MFA the gate;
	// events go to the log.
	hooks := a.hooks
	if a.Metrics == nil {
		a.Metrics = metrics.New()
	}
	a.limit.Observe = a.Metrics.ObserveHash
	a.Metrics.WatchHashQueue(a.limit)
	// logins by outcome and refresh reuse are counted from the events
	hooks.Events = events.Multi{a.emitter(), a.Metrics.Events()}
	if hooks.PostLogin == nil {
		hooks.PostLogin = a.postLogin()
	}
	if a.codeKey == nil {
		a.codeKey = make([]byte, 32)
		rand.Read(a.codeKey)
	}
	a.guard = &protect.Guard{Store: a.Store, Events: hooks.Events, Mailer: a.mailer, Breached: a.breached, Admins: a.admins(), Now: a.now, Log: a.Log, Observe: a.Metrics}
	if hooks.Guard == nil {
		hooks.Guard = a.guard
	}
	secondFactor := &grants.MFA{Store: a.Store, Issuer: a.Config.Issuer, Now: a.now, CodeKey: a.codeKey}
	if hooks.MFA == nil {
		hooks.MFA = secondFactor.Gate()
	}
	token := oauth.NewHandler(ca, minter, a.Store, a.now, a.Log, hooks,
		&grants.Password{Store: a.Store, Directory: dir, Issuer: a.Config.Issuer, Now: a.now},
		&grants.Password{Store: a.Store, Directory: dir, Issuer: a.Config.Issuer, Now: a.now, Realm: true},
		&grants.Refresh{Store: a.Store, Now: a.now, Users: storeless{dir}},
		&grants.ClientCredentials{Store: a.Store, Issuer: a.Config.Issuer},
		&grants.MFAGrant{MFA: secondFactor, Kind: protocol.GrantMFAOTP},
		&grants.MFAGrant{MFA: secondFactor, Kind: protocol.GrantMFAOOB},
		&grants.MFAGrant{MFA: secondFactor, Kind: protocol.GrantMFARecoveryCode},
		&grants.Passwordless{Store: a.Store, Users: a.domain(), CodeKey: a.codeKey, Issuer: a.Config.Issuer, Now: a.now},
	)
	token.Observe = a.Metrics.ObserveToken
	a.Jobs = &jobs.Service{Store: a.Store, Tenant: a.domain(), Now: a.now, Logger: a.Log, MaxUpload: a.Config.ImportMaxBytes, Admins: a.admins()}
	mgmtConfig := mgmt.Config{
		Store:  a.Store,
		Issuer: a.Config.Issuer,
		Tenant: a.domain(),
		Authenticate: func(ctx context.Context, bearer string) (mgmt.Principal, error) {
			c, err := minter.Verify(bearer, a.mgmtAudience(), a.now())
			if err != nil {
				return mgmt.Principal{}, err
			}
			return mgmt.Principal{Subject: c.Subject, ClientID: c.AuthorizedParty, Scopes: strings.Fields(c.Scope)}, nil
		},
		Now:    a.now,
		Logger: a.Log,
		Keys:   a.Keys,
		Jobs:   a.Jobs,
	}
	self := &selfservice.Handler{Tenant: a.domain(), Store: a.Store, Clients: ca, Mailer: a.mailer, SMS: a.sms,
		Issuer: a.Config.Issuer, Key: a.codeKey, Now: a.now, Logger: a.Log, Events: hooks.Events,
		Protection: selfServiceProtection{guard: a.guard, tenant: a.domain(), log: a.Log}, MFA: secondFactor}
	mgmtConfig.SendEnrollment = self.SendEnrollment
	mgmtConfig.SendVerification = self.SendVerification
	management := mgmt.New(mgmtConfig)

	table := newRouteTable()
	mfaAPI := &mfaapi.Handler{MFA: secondFactor, Clients: ca, Verify: minter.Verify, Mailer: a.mailer, Logger: a.Log,
		SMS: guardianSMS{store: a.Store, server: a.sms, baseURL: a.Config.SMSURL}}
	if u, err := url.Parse(a.Config.Issuer); err == nil {
		mfaAPI.Tenant = u.Hostname()
	}
	mfaAPI.Routes(table)
	self.Routes(table)
	table.HandleFunc("POST /oauth/token", token.Token)
	table.HandleFunc("POST /oauth/revoke", token.Revoke)
	userinfo := token.UserinfoHandler(a.Store)
	table.Handle("GET /userinfo", userinfo)
	table.Handle("POST /userinfo", userinfo)
	table.Handle("GET /.well-known/openid-configuration", oauth.Discovery(a.Config.Issuer))
	table.Handle("GET /.well-known/jwks.json", oauth.JWKS(a.Keys.JWKS))
	a.opsRoutes(table) // /healthz, /readyz, /metrics
	table.Handle("GET /jobs/files/{id}/{token}/{name}", mgmt.JobFiles(mgmtConfig))
	table.answerOtherMethods()
	a.routeList = append(slices.Clone(table.patterns), mgmt.Patterns()...)
	mux := table.mux
	mux.Handle("/api/v2/", management)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		oauth.WriteError(w, oauth.Errorf(http.StatusNotFound, "not_found", "Not found"))
	})
	return a.middleware(a.instrument(limitBodies(refuseDotSegments(mux), a.Jobs.MaxUploadBytes())))
}

// openBreached is the list breached password detection asks: the filter
// of --breached-filter or the shipped one, and the range API of
// --breached-range-url beside it.
func openBreached(cfg config.Config) (breached.Checker, error) {
	filter := breached.Common()
	if cfg.BreachedFilter != "" {
		f, err := breached.LoadFile(cfg.BreachedFilter)
		if err != nil {
			return nil, fmt.Errorf("--breached-filter: %w", err)
		}
		filter = f
	}
	if cfg.BreachedRangeURL == "" {
		return filter, nil
	}
	return breached.ByMethod{Standard: filter, Enhanced: breached.Any{filter, &breached.RangeAPI{BaseURL: cfg.BreachedRangeURL}}}, nil
}

// scripts is the JavaScript sandbox shared by rules, Actions and custom
// database scripts, with the limits of the --script-* settings (zero
// values, from a Config not made by config.Load, take the sandbox's
// defaults: 20 s, 64 KiB of output, a 1 GiB heap watchdog).
func (a *App) scripts() *scripts.Sandbox {
	if a.sandbox == nil {
		cfg := a.Config
		sb, err := scripts.New(scripts.Options{
			Logger: a.Log, Timeout: cfg.ScriptTimeout, HTTPTimeout: cfg.ScriptHTTPTimeout,
			MaxOutputBytes: cfg.ScriptOutputLimit, MemoryLimit: uint64(max(cfg.ScriptMemoryLimit, 0)),
		})
		if err != nil {
			// The prelude is compiled into the binary: this is a build defect.
			panic(err)
		}
		a.sandbox = sb
	}
	return a.sandbox
}

// postLogin is the post-login phase: the tenant's rules, then its
// post-login Actions. Rules and Actions reach over HTTP only the hosts of
// --script-allowed-hosts and of the tenant setting
// gatehouse_script_allowed_hosts.
func (a *App) postLogin() oauth.PostLogin {
	u, _ := url.Parse(a.Config.Issuer)
	return &postlogin.Phase{Store: a.Store, Sandbox: a.scripts(), Tenant: u.Hostname(), Domain: u.Hostname(),
		AllowedHosts: a.Config.ScriptAllowedHosts, Now: a.now, Logger: a.Log}
}
