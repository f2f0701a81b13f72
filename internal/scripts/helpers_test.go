package scripts

import (
	"context"
	"testing"
)

// TestHelpers checks each helper the package doc lists against the value
// Node gives for the same call.
func TestHelpers(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{})
	tests := []struct{ name, expr, want string }{
		{"md5 hex", `crypto.createHash('md5').update('abc').digest('hex')`, "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1 base64", `require('crypto').createHash('sha1').update('abc').digest('base64')`, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="},
		{"sha256 in parts", `crypto.createHash('sha256').update('a').update(Buffer.from('bc')).digest('hex')`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha512 digest is a Buffer", `crypto.createHash('sha512').update('').digest().length`, "64"},
		{"hmac sha256", `crypto.createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex')`, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		{"randomBytes", `crypto.randomBytes(16).toString('hex').length`, "32"},
		{"randomUUID", `/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`, "true"},
		{"unknown digest throws", `(function () { try { crypto.createHash('whirlpool'); return 'no'; } catch (e) { return e.message; } })()`, "Digest method not supported"},
		{"timingSafeEqual", `crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab'))`, "true"},
		{"Buffer base64 round trip", `Buffer.from(Buffer.from('héllo').toString('base64'), 'base64').toString()`, "héllo"},
		{"Buffer hex", `Buffer.from('6869', 'hex').toString('utf8')`, "hi"},
		{"Buffer base64url", `Buffer.from('\xff\xfe', 'latin1').toString('base64url')`, "__4"},
		{"Buffer concat and isBuffer", `Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString() + Buffer.isBuffer(Buffer.alloc(1))`, "abtrue"},
		{"Buffer slice is a Buffer", `Buffer.from('hello').slice(1, 3).toString()`, "el"},
		{"URL parts", `(function () { var u = new URL('https://user:pw@example.com:8443/a/b?x=1&y=two#h'); return [u.protocol, u.hostname, u.port, u.host, u.pathname, u.search, u.hash, u.origin, u.searchParams.get('y')].join(' '); })()`, "https: example.com 8443 example.com:8443 /a/b ?x=1&y=two #h https://example.com:8443 two"},
		{"URL with base and searchParams edits", `(function () { var u = new URL('/p?a=1', 'https://example.com'); u.searchParams.set('b', 'x y'); return u.href; })()`, "https://example.com/p?a=1&b=x+y"},
		{"invalid URL throws TypeError", `(function () { try { new URL('nope'); } catch (e) { return e instanceof TypeError; } })()`, "true"},
		{"URLSearchParams", `new URLSearchParams({ a: '1', b: 'é&' }).toString() + '|' + new URLSearchParams('?x=1&x=2').getAll('x').join()`, "a=1&b=%C3%A9%26|1,2"},
		{"querystring", `require('querystring').stringify({ a: [1, 2], b: 'c d' }) + '|' + require('querystring').parse('a=1&a=2&b=3').a.join()`, "a=1&a=2&b=c+d|1,2"},
		{"lodash basics", `(function () { var _ = require('lodash@4.17.10'); return [_.get({ a: [{ b: 5 }] }, 'a[0].b'), _.isEmpty({}), _.uniq([1, 1, 2]).length, _.pick({ a: 1, b: 2 }, 'a').a, _.merge({ a: { b: 1 } }, { a: { c: 2 } }).a.c, _.includes([1, 2], 2)].join(); })()`, "5,true,2,1,2,true"},
		{"uuid v4", `require('uuid').v4().length`, "36"},
		{"unknown module", `(function () { try { require('fs'); } catch (e) { return e.code; } })()`, "MODULE_NOT_FOUND"},
		{"no process or file system", `typeof process + typeof require('buffer').Buffer + typeof fs`, "undefinedfunctionundefined"},
		{"Auth0 errors", `[new UnauthorizedError('x').name, new WrongUsernameOrPasswordError('a@b', 'm').message, new ValidationError('user_exists', 'dup').code, new UnauthorizedError('x') instanceof Error].join()`, "UnauthorizedError,m,user_exists,true"},
		{"global is the global object", `(function () { global.cached = 1; return typeof cached; })()`, "number"},
		{"console.log does not throw", `(function () { console.log('hi', { a: 1 }); return 'ok'; })()`, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := s.PostLogin(context.Background(), ruleInput(`function (user, context, callback) {
				context.accessToken['https://x/r'] = String(`+tc.expr+`);
				callback(null, user, context);
			}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.AccessTokenClaims["https://x/r"]; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
