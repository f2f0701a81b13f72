// The seed flow driven through Auth0's official Node SDK (npm "auth0"),
// unchanged, against a gatehouse started by
// internal/server/sdk_node_test.go (TestAuth0NodeSDK).
//
// auth0@7 ships the Management API client in its main entry point; its
// Authentication API client (AuthenticationClient, UserInfoClient) ships in
// the same package under "auth0/legacy".
//
// The steps share state and run in order: node:test runs the tests of one
// file one after another.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';

import { ManagementError } from 'auth0';
import { AuthApiError, AuthenticationClient, UserInfoClient } from 'auth0/legacy';
import { domain, mgmt } from './env.mjs';

const issuer = `https://${domain}/`;

const API = 'https://api.example.com/';
const CONNECTION = 'Username-Password-Authentication';
const USERNAME = 'ann@example.com';
const PASSWORD = 'correct horse battery staple 1A!';
const SCOPE = 'openid profile email offline_access read:sample';

// What earlier steps created, for the later ones.
const seed = {};

function need(key) {
  assert.ok(seed[key], `an earlier step should have set ${key}`);
  return seed[key];
}

// The ID token's claims; the SDK has already verified it by then.
function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

describe('ManagementClient: seed the tenant', () => {
  it('creates the API with a scope and offline access', async () => {
    const { data, rawResponse } = await mgmt.resourceServers
      .create({
        name: 'Sample API',
        identifier: API,
        scopes: [{ value: 'read:sample', description: 'Read samples' }],
        allow_offline_access: true,
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.ok(data.id, 'resource server id');
    assert.equal(data.identifier, API);
    assert.equal(data.allow_offline_access, true);
    assert.deepEqual(data.scopes.map((s) => s.value), ['read:sample']);
    seed.apiID = data.id;
  });

  it('creates the application and returns its generated secret', async () => {
    const { data, rawResponse } = await mgmt.clients
      .create({
        name: 'Seed App',
        app_type: 'regular_web',
        grant_types: ['password', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_post',
        callbacks: ['https://app.example.com/callback'],
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.match(data.client_id, /^[A-Za-z0-9]{16,}$/);
    assert.equal(typeof data.client_secret, 'string');
    assert.ok(data.client_secret.length >= 32, 'client_secret is long enough');
    assert.equal(data.app_type, 'regular_web');
    assert.equal(data.token_endpoint_auth_method, 'client_secret_post');
    assert.deepEqual([...data.grant_types].sort(), ['password', 'refresh_token']);
    seed.clientID = data.client_id;
    seed.clientSecret = data.client_secret;
  });

  it('creates the database connection enabled for the application', async () => {
    const data = await mgmt.connections.create({
      name: CONNECTION,
      strategy: 'auth0',
      enabled_clients: [need('clientID')],
    });
    assert.ok(data.id, 'connection id');
    assert.equal(data.name, CONNECTION);
    assert.equal(data.strategy, 'auth0');
    assert.ok(data.enabled_clients.includes(seed.clientID), 'enabled_clients has the app');
    seed.connectionID = data.id;
  });

  it('creates a user with a password', async () => {
    const { data, rawResponse } = await mgmt.users
      .create({
        connection: CONNECTION,
        email: USERNAME,
        password: PASSWORD,
        given_name: 'Ann',
        app_metadata: { plan: 'free' },
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.match(data.user_id, /^auth0\|/);
    assert.equal(data.email, USERNAME);
    assert.equal(data.given_name, 'Ann');
    assert.equal(data.password, undefined, 'the password is never returned');
    assert.equal(data.identities[0].connection, CONNECTION);
    seed.userID = data.user_id;
  });

  it('sets the tenant default directory', async () => {
    const data = await mgmt.tenants.settings.update({ default_directory: CONNECTION });
    assert.equal(data.default_directory, CONNECTION);
    const read = await mgmt.tenants.settings.get();
    assert.equal(read.default_directory, CONNECTION);
  });

  it('lists users with totals', async () => {
    const page = await mgmt.users.list({ include_totals: true, per_page: 10 });
    assert.equal(page.response.total, 1);
    assert.equal(page.response.start, 0);
    assert.equal(page.response.limit, 10);
    assert.deepEqual(page.data.map((u) => u.user_id), [need('userID')]);
    assert.equal(page.hasNextPage(), false);
  });

  it('gets the user by id', async () => {
    const data = await mgmt.users.get(need('userID'));
    assert.equal(data.user_id, seed.userID);
    assert.equal(data.email, USERNAME);
    assert.deepEqual(data.app_metadata, { plan: 'free' });
  });

  it('merges app_metadata on update', async () => {
    const data = await mgmt.users.update(need('userID'), { app_metadata: { roles: ['admin'] } });
    assert.deepEqual(data.app_metadata, { plan: 'free', roles: ['admin'] });
    const read = await mgmt.users.get(seed.userID);
    assert.deepEqual(read.app_metadata, { plan: 'free', roles: ['admin'] });
  });

  it('surfaces an unknown user as a 404 ManagementError', async () => {
    await assert.rejects(mgmt.users.get('auth0|000000000000000000000000'), (err) => {
      assert.ok(err instanceof ManagementError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.statusCode, 404);
      assert.equal(err.body?.errorCode, 'inexistent_user');
      assert.equal(err.body?.message, 'The user does not exist.');
      return true;
    });
  });
});

describe('AuthenticationClient: the seed flow', () => {
  const auth = () =>
    new AuthenticationClient({ domain, clientId: need('clientID'), clientSecret: need('clientSecret') });

  it('password grant returns tokens and a valid ID token', async () => {
    // The SDK verifies the ID token: alg, signature against the JWKS,
    // iss https://<domain>/, aud the client id, exp and iat.
    const res = await auth().oauth.passwordGrant({
      username: USERNAME,
      password: PASSWORD,
      audience: API,
      scope: SCOPE,
    });
    assert.equal(res.status, 200);
    const t = res.data;
    assert.equal(typeof t.access_token, 'string');
    assert.equal(typeof t.id_token, 'string');
    assert.equal(typeof t.refresh_token, 'string');
    assert.equal(t.token_type, 'Bearer');
    assert.equal(typeof t.expires_in, 'number');
    assert.ok(t.scope.split(' ').includes('read:sample'), `scope ${t.scope}`);
    const id = claims(t.id_token);
    assert.equal(id.iss, issuer);
    assert.equal(id.sub, need('userID'));
    assert.equal(id.email, USERNAME);
    seed.accessToken = t.access_token;
    seed.refreshToken = t.refresh_token;
  });

  it('userinfo returns the user', async () => {
    const res = await new UserInfoClient({ domain }).getUserInfo(need('accessToken'));
    assert.equal(res.status, 200);
    assert.equal(res.data.sub, need('userID'));
    assert.equal(res.data.email, USERNAME);
  });

  it('refresh token grant returns a fresh access token', async () => {
    const res = await auth().oauth.refreshTokenGrant({ refresh_token: need('refreshToken') });
    assert.equal(res.status, 200);
    assert.equal(typeof res.data.access_token, 'string');
    assert.notEqual(res.data.access_token, seed.accessToken);
    assert.equal(typeof res.data.id_token, 'string');
    // With rotation a new refresh token replaces the old one.
    if (res.data.refresh_token) seed.refreshToken = res.data.refresh_token;
  });

  it('a wrong password is invalid_grant "Wrong email or password." with 403', async () => {
    await assert.rejects(
      auth().oauth.passwordGrant({ username: USERNAME, password: 'not the password', audience: API, scope: SCOPE }),
      (err) => {
        assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.error, 'invalid_grant');
        assert.equal(err.error_description, 'Wrong email or password.');
        assert.equal(err.statusCode, 403);
        return true;
      },
    );
  });

  it('a revoked refresh token no longer refreshes', async () => {
    const res = await auth().oauth.revokeRefreshToken({ token: need('refreshToken') });
    assert.equal(res.status, 200);
    await assert.rejects(auth().oauth.refreshTokenGrant({ refresh_token: seed.refreshToken }), (err) => {
      assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.error, 'invalid_grant');
      assert.equal(err.error_description, 'Unknown or invalid refresh token.');
      assert.equal(err.statusCode, 403);
      return true;
    });
  });
});

describe('private_key_jwt client authentication', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  it('creates an application with a public key credential', async () => {
    const data = await mgmt.clients.create({
      name: 'Key App',
      app_type: 'regular_web',
      grant_types: ['password', 'refresh_token'],
      client_authentication_methods: {
        private_key_jwt: {
          credentials: [{ credential_type: 'public_key', name: 'sdk test key', pem: publicKey, alg: 'RS256' }],
        },
      },
    });
    assert.match(data.client_id, /^[A-Za-z0-9]{16,}$/);
    const creds = data.client_authentication_methods?.private_key_jwt?.credentials;
    assert.equal(creds?.length, 1, `credentials ${JSON.stringify(creds)}`);
    assert.ok(creds[0].id, 'credential id');
    seed.keyClientID = data.client_id;
  });

  it('enables the application on the connection', async () => {
    await mgmt.connections.clients.update(need('connectionID'), [{ client_id: need('keyClientID'), status: true }]);
    const page = await mgmt.connections.clients.get(seed.connectionID);
    const ids = page.data.map((c) => c.client_id);
    assert.ok(ids.includes(seed.keyClientID), `enabled clients ${ids}`);
    assert.ok(ids.includes(need('clientID')), `enabled clients ${ids}`);
  });

  it('password grant authenticates the client with a signed assertion', async () => {
    const auth = new AuthenticationClient({ domain, clientId: need('keyClientID'), clientAssertionSigningKey: privateKey });
    const res = await auth.oauth.passwordGrant({ username: USERNAME, password: PASSWORD, audience: API, scope: SCOPE });
    assert.equal(res.status, 200);
    assert.equal(typeof res.data.access_token, 'string');
    assert.equal(typeof res.data.refresh_token, 'string');
    const id = claims(res.data.id_token);
    assert.equal(id.aud, seed.keyClientID);
    assert.equal(id.sub, need('userID'));
  });

  it('a key the application does not hold is refused', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const auth = new AuthenticationClient({
      domain,
      clientId: need('keyClientID'),
      clientAssertionSigningKey: other.privateKey,
    });
    await assert.rejects(
      auth.oauth.passwordGrant({ username: USERNAME, password: PASSWORD, audience: API, scope: SCOPE }),
      (err) => {
        assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.statusCode, 401);
        assert.equal(err.error, 'invalid_client');
        return true;
      },
    );
  });
});
