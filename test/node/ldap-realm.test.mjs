// An AD/LDAP connection driven through Auth0's official Node SDK (npm
// "auth0"), unchanged: the ManagementClient creates the application and
// the connection, the AuthenticationClient logs in with a realm. The
// directory is a real slapd started by internal/server/sdk_node_test.go
// for files named ldap-*.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import { domain, mgmt, required } from './env.mjs';

const seed = {};

describe('an ad connection through the SDK', () => {
  it('creates an application for the realm grant', async () => {
    const data = await mgmt.clients.create({
      name: 'LDAP App',
      app_type: 'regular_web',
      grant_types: ['http://auth0.com/oauth/grant-type/password-realm'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    seed.clientID = data.client_id;
    seed.clientSecret = data.client_secret;
  });

  it('creates the ad connection; bind_password is never shown', async () => {
    const { data, rawResponse } = await mgmt.connections
      .create({
        name: 'corp-ldap',
        strategy: 'ad',
        enabled_clients: [seed.clientID],
        options: {
          url: required('LDAP_URL'),
          start_tls: true,
          ca_bundle: readFileSync(required('LDAP_CA_FILE'), 'utf8'),
          bind_dn: required('LDAP_BIND_DN'),
          bind_password: required('LDAP_BIND_PASSWORD'),
          base_dn: required('LDAP_BASE_DN'),
          group_base_dn: required('LDAP_GROUP_BASE_DN'),
        },
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.equal(data.strategy, 'ad');
    assert.equal(data.options.bind_password, undefined);
  });

  const auth = () => new AuthenticationClient({ domain, clientId: seed.clientID, clientSecret: seed.clientSecret });

  it('logs in with the realm; the SDK verifies the ID token', async () => {
    const res = await auth().oauth.passwordGrant({
      username: 'ann',
      password: 'ann-pass',
      realm: 'corp-ldap',
      scope: 'openid profile email',
    });
    assert.equal(res.status, 200);
    const claims = JSON.parse(Buffer.from(res.data.id_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'ad|corp-ldap|ann');
  });

  it('a wrong password is invalid_grant', async () => {
    await assert.rejects(
      auth().oauth.passwordGrant({ username: 'ann', password: 'wrong', realm: 'corp-ldap', scope: 'openid' }),
      (err) => {
        assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.error, 'invalid_grant');
        return true;
      },
    );
  });
});
