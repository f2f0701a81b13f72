// Users on their own, through Auth0's official Node SDK (npm "auth0"),
// unchanged, against a gatehouse started by
// internal/server/sdk_node_test.go, which also runs an SMTP listener and
// serves what it received at MAILBOX_URL?to=ADDRESS.
//
// The steps share state and run in order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import { domain, mailTo, mgmt } from './env.mjs';

const CONNECTION = 'Username-Password-Authentication';
const EMAIL = 'signup@example.com';
const PASSWORD = 'Signed up 1!';
const NEW_PASSWORD = 'Reset by mail 2?';

const seed = {};

const auth = () => new AuthenticationClient({ domain, clientId: seed.clientID, clientSecret: seed.clientSecret });

describe('self-service through the SDK', () => {
  it('seeds an application and a database connection', async () => {
    const client = await mgmt.clients.create({
      name: 'Self-service App',
      app_type: 'regular_web',
      grant_types: ['password', 'http://auth0.com/oauth/grant-type/password-realm', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    seed.clientID = client.client_id;
    seed.clientSecret = client.client_secret;
    await mgmt.connections.create({
      name: CONNECTION,
      strategy: 'auth0',
      enabled_clients: [seed.clientID],
      options: { passwordPolicy: 'good' },
    });
  });

  it('database.signUp creates the user', async () => {
    const res = await auth().database.signUp({
      email: EMAIL,
      password: PASSWORD,
      connection: CONNECTION,
      given_name: 'Sig',
      user_metadata: { source: 'sdk' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.data.email, EMAIL);
    assert.equal(res.data.email_verified, false);
    assert.match(res.data._id, /^[0-9a-f]{24}$/);
    assert.equal(res.data.id, res.data._id, 'the SDK maps _id to id');
  });

  it('database.signUp refuses a weak password with the policy', async () => {
    await assert.rejects(
      auth().database.signUp({ email: 'weak@example.com', password: 'abcdefgh', connection: CONNECTION }),
      (err) => {
        assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.error, 'invalid_password');
        assert.equal(err.statusCode, 400);
        const body = JSON.parse(err.body);
        assert.equal(body.name, 'PasswordStrengthError');
        assert.equal(body.description.verified, false);
        return true;
      },
    );
  });

  it('the new user logs in with the password grant', async () => {
    const res = await auth().oauth.passwordGrant({ username: EMAIL, password: PASSWORD, realm: CONNECTION, scope: 'openid' });
    assert.equal(res.status, 200);
    assert.ok(res.data.id_token);
  });

  it('database.changePassword sends a reset link', async () => {
    const res = await auth().database.changePassword({ email: EMAIL, connection: CONNECTION });
    assert.equal(res.status, 200);
    assert.equal(res.data, "We've just sent you an email to reset your password.");
    const text = await mailTo(EMAIL);
    const link = text.match(/https:\/\/\S+/)[0];
    assert.ok(link.startsWith(`https://${domain}/lo/reset?ticket=`), link);
    seed.link = link;
  });

  it('the reset page sets the new password', async () => {
    const page = await fetch(seed.link);
    assert.equal(page.status, 200);
    const html = await page.text();
    const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]+)"`))[1].replaceAll('&#43;', '+');
    const cookie = page.headers.get('set-cookie').split(';')[0];
    const res = await fetch(seed.link, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
      body: new URLSearchParams({ ticket: field('ticket'), csrf: field('csrf'), password: NEW_PASSWORD, confirm: NEW_PASSWORD }),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Your password has been changed\./);
  });

  it('the old password fails and the new one logs in', async () => {
    await assert.rejects(auth().oauth.passwordGrant({ username: EMAIL, password: PASSWORD, realm: CONNECTION }), (err) => {
      assert.equal(err.error, 'invalid_grant');
      return true;
    });
    const res = await auth().oauth.passwordGrant({ username: EMAIL, password: NEW_PASSWORD, realm: CONNECTION, scope: 'openid' });
    assert.equal(res.status, 200);
  });
});
