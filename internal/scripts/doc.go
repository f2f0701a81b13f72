// Package scripts is the JavaScript sandbox that runs a tenant's own code:
// Rules (`function (user, context, callback)`), post-login Actions
// (`exports.onExecutePostLogin = async (event, api) => {...}`) and custom
// database scripts (`function login(email, password, callback)`,
// `function getByEmail(email, callback)`, create, delete, changePassword,
// verify, changeEmail: Sandbox.Database), on the goja engine. An Action's
// draft can also run alone against a test event (TestPostLogin).
//
// # Isolation and limits
//
// Each script version is compiled once, cached by the hash of its source
// (a changed script is a new entry; the cache is bounded). Runtimes are
// pooled and belong to one run at a time; an interrupted runtime is
// dropped. Scripts have no file system, processes, environment or network
// beyond the helpers below. Every run (one login's rules and Actions, or
// one database script call) has:
//   - a wall-clock limit (Options.Timeout, 20 s by default) enforced with
//     goja's Interrupt, which JavaScript cannot catch;
//   - a call-depth limit (Options.MaxCallStack);
//   - an output limit (Options.MaxOutputBytes, 64 KiB of JSON) on the
//     claims, metadata and profiles it produces;
//   - a memory bound: goja keeps no account per runtime, so a Watchdog
//     samples the process heap while runs are active and interrupts the
//     oldest run while the heap stays over its limit after a collection.
//
// A run that fails returns a *Failure whose Kind the caller maps to Auth0's
// answer (KindDenied to access_denied with the script's message); no
// script can panic the process or hold up other runs.
//
// # Event loop
//
// Each run has its own loop on the calling goroutine: callbacks (Rules'
// callback, request's callback, timers) and promises (async/await) both
// work; Go-side work (HTTP) runs on other goroutines and posts its
// completion back onto the loop.
//
// # Helpers
//
// Globals: require, request, fetch (with Headers and Response), crypto,
// Buffer, URL, URLSearchParams, console (log, info, warn, error, debug;
// kept in the result, bounded), setTimeout, clearTimeout, setImmediate,
// clearImmediate, global, UnauthorizedError, WrongUsernameOrPasswordError,
// ValidationError, InvalidPasswordError; Rules also get configuration and
// auth0 (domain, users.updateAppMetadata, users.updateUserMetadata:
// recorded, for the caller to persist); database scripts get
// configuration.
//
// require() knows a fixed list, any "@version" suffix ignored:
//   - request: request(options, callback), request.get/post/put/patch/
//     head/del, request.defaults; options url/uri, baseUrl, method,
//     headers, qs, json, form, body, auth {user, pass, bearer}, timeout.
//   - axios: axios(config), get/delete/head/options, post/put/patch,
//     create; config url, baseURL, method, headers, params, data, timeout;
//     rejects on non-2xx with error.response.
//   - node-fetch: fetch(url, {method, headers, body}) → Response with
//     ok, status, statusText, url, headers.get(), text(), json().
//   - crypto: createHash and createHmac (md5, sha1, sha256, sha384,
//     sha512; update(data, encoding), digest(hex|base64|base64url|latin1)
//     or a Buffer), randomBytes, randomUUID, timingSafeEqual, getHashes.
//   - buffer: Buffer (from string in utf8/hex/base64/base64url/latin1/
//     ascii, from array or bytes; alloc, concat, isBuffer, byteLength,
//     compare; toString(encoding), equals, slice, toJSON).
//   - url: URL (read-only parts, searchParams kept in step with search,
//     href, origin) and URLSearchParams (get, getAll, has, set, append,
//     delete, sort, forEach, keys, values, entries, toString).
//   - querystring: parse, stringify.
//   - lodash: get, set, has, pick, omit, merge, defaults, assign, clone,
//     cloneDeep, keys, values, isEmpty, isEqual, the is* checks, includes,
//     uniq, union, intersection, difference, without, flatten, compact,
//     first/head, last, size, map, filter, find, some, every, forEach/each,
//     groupBy, keyBy, mapValues, startsWith, endsWith, trim, toLower,
//     toUpper, capitalize.
//   - uuid: v4.
//
// Outbound HTTP (request, fetch, axios) reaches only the hosts given for
// the run (a host name, host:port, or *.domain), follows at most five
// redirects within them, and is bounded by Options.HTTPTimeout and
// Options.MaxResponseBytes.
package scripts
