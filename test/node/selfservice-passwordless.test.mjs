// Passwordless logins through Auth0's official Node SDK (npm "auth0"),
// unchanged: passwordless.sendEmail / loginWithEmail, and sendSMS /
// loginWithSMS, against a gatehouse started by
// internal/server/sdk_node_test.go with an SMTP listener it reads back at
// MAILBOX_URL?to=ADDRESS. Text messages go to gatehouse's log there, so
// the SMS steps check the SDK's calls and Auth0's refusal of a wrong code.
//
// The steps share state and run in order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import { domain, mailTo, mgmt } from './env.mjs';

const EMAIL = 'nopass@example.com';
const PHONE = '+15550109876';
const seed = {};

const auth = () => new AuthenticationClient({ domain, clientId: seed.clientID, clientSecret: seed.clientSecret });

// mailedCode waits for a message to addr holding a six-digit code.
async function mailedCode(addr) {
  return (await mailTo(addr, /\b\d{6}\b/)).match(/\b\d{6}\b/)[0];
}

describe('passwordless through the SDK', () => {
  it('seeds an application and the email and sms connections', async () => {
    const client = await mgmt.clients.create({
      name: 'Passwordless App',
      app_type: 'regular_web',
      grant_types: ['http://auth0.com/oauth/grant-type/passwordless/otp', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    seed.clientID = client.client_id;
    seed.clientSecret = client.client_secret;
    for (const strategy of ['email', 'sms']) {
      await mgmt.connections.create({
        name: strategy,
        strategy,
        enabled_clients: [seed.clientID],
        options: { totp: { time_step: 180, length: 6 }, disable_signup: false },
      });
    }
  });

  it('passwordless.sendEmail mails a code', async () => {
    const res = await auth().passwordless.sendEmail({ email: EMAIL, send: 'code', authParams: { scope: 'openid' } });
    assert.equal(res.status, 200);
    seed.code = await mailedCode(EMAIL);
  });

  it('passwordless.loginWithEmail exchanges it and creates the user', async () => {
    const res = await auth().passwordless.loginWithEmail({ email: EMAIL, code: seed.code, scope: 'openid profile email' });
    assert.equal(res.status, 200);
    assert.ok(res.data.access_token);
    assert.ok(res.data.id_token);
    const claims = JSON.parse(Buffer.from(res.data.id_token.split('.')[1], 'base64url'));
    assert.match(claims.sub, /^email\|[0-9a-f]{24}$/);
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.email_verified, true);
  });

  it('the used code is refused as Auth0 refuses it', async () => {
    await assert.rejects(auth().passwordless.loginWithEmail({ email: EMAIL, code: seed.code }), (err) => {
      assert.ok(err instanceof AuthApiError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.statusCode, 403);
      assert.equal(err.error, 'invalid_grant');
      assert.equal(err.error_description, 'Wrong email or verification code.');
      return true;
    });
  });

  it('passwordless.sendSMS and loginWithSMS reach the sms connection', async () => {
    const res = await auth().passwordless.sendSMS({ phone_number: PHONE });
    assert.equal(res.status, 200);
    await assert.rejects(auth().passwordless.loginWithSMS({ phone_number: PHONE, code: '000000' }), (err) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.error_description, 'Wrong phone number or verification code.');
      return true;
    });
  });
});
