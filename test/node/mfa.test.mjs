// MFA in the password flow through Auth0's official Node SDK (npm "auth0"
// 7.1.0), unchanged, against a gatehouse started by
// internal/server/sdk_node_test.go (TestAuth0NodeSDK).
//
// auth0@7 has no calls for the MFA API itself (its AuthenticationClient in
// "auth0/legacy" has no mfa namespace and no mfa-otp grant): what it does
// have is the password grant, which must surface mfa_required as an
// AuthApiError carrying the mfa_token, and the ManagementClient's guardian
// and user-MFA calls. The two MFA API requests between them (/mfa/associate
// and the mfa-otp grant) are plain fetch calls, as an application on this
// SDK makes them. The TOTP codes are computed here (RFC 6238, SHA-1, six
// digits, 30 s), independently of gatehouse.
//
// The steps share state and run in order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import { ManagementError } from 'auth0';
import { AuthApiError, AuthenticationClient } from 'auth0/legacy';
import { domain, mgmt, required } from './env.mjs';

const base = `https://${domain}`;
const CONNECTION = 'Username-Password-Authentication';
const USERNAME = 'mia@example.com';
const PASSWORD = 'correct horse battery staple 1A!';
const MFA_GRANTS = [
  'http://auth0.com/oauth/grant-type/mfa-otp',
  'http://auth0.com/oauth/grant-type/mfa-oob',
  'http://auth0.com/oauth/grant-type/mfa-recovery-code',
];

const seed = {};
function need(key) {
  assert.ok(seed[key], `an earlier step should have set ${key}`);
  return seed[key];
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

// base32Decode reads an RFC 4648 base32 secret (no padding).
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// totp is RFC 6238 with RFC 4226's dynamic truncation.
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

async function post(path, body, bearer) {
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const auth = () => new AuthenticationClient({ domain, clientId: need('clientID'), clientSecret: need('clientSecret') });

// passwordGrantMFA runs the SDK's password grant, which must refuse with
// mfa_required, and returns the mfa_token and mfa_requirements.
async function passwordGrantMFA() {
  let caught;
  await assert.rejects(auth().oauth.passwordGrant({ username: USERNAME, password: PASSWORD, scope: 'openid offline_access' }), (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof AuthApiError, `got ${caught?.constructor?.name}: ${caught}`);
  assert.equal(caught.statusCode, 403);
  assert.equal(caught.error, 'mfa_required');
  assert.equal(caught.error_description, 'Multifactor authentication required');
  const body = JSON.parse(caught.body);
  assert.equal(typeof body.mfa_token, 'string');
  return body;
}

async function otpGrant(mfaToken, otp) {
  return post('/oauth/token', {
    grant_type: 'http://auth0.com/oauth/grant-type/mfa-otp',
    mfa_token: mfaToken,
    otp,
    client_id: need('clientID'),
    client_secret: need('clientSecret'),
  });
}

describe('ManagementClient: a tenant that always asks for MFA', () => {
  it('creates an application allowed the MFA grants, a connection and a user', async () => {
    const app = await mgmt.clients.create({
      name: 'MFA App',
      app_type: 'regular_web',
      grant_types: ['password', 'refresh_token', ...MFA_GRANTS],
      token_endpoint_auth_method: 'client_secret_post',
    });
    seed.clientID = app.client_id;
    seed.clientSecret = app.client_secret;
    await mgmt.connections.create({ name: CONNECTION, strategy: 'auth0', enabled_clients: [app.client_id] });
    const user = await mgmt.users.create({ connection: CONNECTION, email: USERNAME, password: PASSWORD });
    seed.userID = user.user_id;
    await mgmt.tenants.settings.update({ default_directory: CONNECTION });
  });

  it('turns the OTP and recovery-code factors on and the policy to always', async () => {
    for (const name of ['otp', 'recovery-code']) {
      const set = await mgmt.guardian.factors.set(name, { enabled: true });
      assert.equal(set.enabled, true);
    }
    const factors = await mgmt.guardian.factors.list();
    assert.equal(factors.find((f) => f.name === 'otp')?.enabled, true);
    assert.equal(factors.find((f) => f.name === 'sms')?.enabled, false);
    assert.deepEqual(await mgmt.guardian.policies.set(['all-applications']), ['all-applications']);
    assert.deepEqual(await mgmt.guardian.policies.list(), ['all-applications']);
  });
});

describe('AuthenticationClient: the password grant needs a second factor', () => {
  it('first login: mfa_required asks to enrol, /mfa/associate gives a secret, the first code finishes the login', async () => {
    const first = await passwordGrantMFA();
    assert.deepEqual(first.mfa_requirements, { enroll: [{ type: 'otp' }] });
    const assoc = await post('/mfa/associate', { authenticator_types: ['otp'] }, first.mfa_token);
    assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
    assert.equal(assoc.body.authenticator_type, 'otp');
    assert.match(assoc.body.barcode_uri, /^otpauth:\/\/totp\/.*secret=[A-Z2-7]+/);
    assert.equal(assoc.body.recovery_codes.length, 1);
    seed.secret = assoc.body.secret;
    seed.recoveryCode = assoc.body.recovery_codes[0];

    const wrong = await otpGrant(first.mfa_token, totp(seed.secret) === '000000' ? '111111' : '000000');
    assert.equal(wrong.status, 403);
    assert.deepEqual([wrong.body.error, wrong.body.error_description], ['invalid_grant', 'Invalid otp_code.']);

    const ok = await otpGrant(first.mfa_token, totp(seed.secret));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(claims(ok.body.id_token).amr, ['mfa']);
    assert.equal(claims(ok.body.id_token).sub, need('userID'));
    assert.equal(typeof ok.body.refresh_token, 'string');
    seed.usedCode = totp(seed.secret);

    // The mfa_token is spent.
    const spent = await otpGrant(first.mfa_token, totp(seed.secret));
    assert.deepEqual([spent.status, spent.body.error_description], [403, 'Malformed mfa_token']);
  });

  it('next login: mfa_required names the otp challenge; a code works once', async () => {
    const next = await passwordGrantMFA();
    assert.deepEqual(next.mfa_requirements, { challenge: [{ type: 'otp' }, { type: 'recovery-code' }] });
    const replay = await otpGrant(next.mfa_token, need('usedCode'));
    assert.deepEqual([replay.status, replay.body.error_description], [403, 'Invalid otp_code.']);
    // The next time step's code is new (one step of tolerance).
    const code = totp(seed.secret, Date.now() + 30_000);
    const ok = await otpGrant(next.mfa_token, code);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

describe("ManagementClient: the user's second factors", () => {
  it('lists the enrollment and the authentication methods', async () => {
    const enrollments = await mgmt.users.enrollments.get(need('userID'));
    assert.equal(enrollments.length, 1);
    assert.equal(enrollments[0].status, 'confirmed');
    assert.equal(enrollments[0].type, 'totp');
    seed.enrollmentID = enrollments[0].id;
    const one = await mgmt.guardian.enrollments.get(seed.enrollmentID);
    assert.equal(one.id, seed.enrollmentID);

    const page = await mgmt.users.authenticationMethods.list(seed.userID, { include_totals: true });
    assert.deepEqual(page.data.map((m) => m.type).sort(), ['recovery-code', 'totp']);
  });

  it('regenerates the recovery code: the old one stops working, the new one logs in', async () => {
    const { recovery_code: fresh } = await mgmt.users.regenerateRecoveryCode(need('userID'));
    assert.match(fresh, /^[A-Z0-9]{24}$/);
    const rc = async (code) => {
      const { mfa_token } = await passwordGrantMFA();
      return post('/oauth/token', {
        grant_type: 'http://auth0.com/oauth/grant-type/mfa-recovery-code',
        mfa_token,
        recovery_code: code,
        client_id: need('clientID'),
        client_secret: need('clientSecret'),
      });
    };
    const old = await rc(need('recoveryCode'));
    assert.deepEqual([old.status, old.body.error_description], [403, 'Invalid recovery_code.']);
    const ok = await rc(fresh);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(ok.body.recovery_code, /^[A-Z0-9]{24}$/);
  });

  it('invalidates remembered browsers and resets the MFA: the next login enrols again', async () => {
    await mgmt.users.multifactor.invalidateRememberBrowser(need('userID'));
    await mgmt.guardian.enrollments.delete(need('enrollmentID'));
    await assert.rejects(mgmt.guardian.enrollments.get(seed.enrollmentID), (err) => {
      assert.ok(err instanceof ManagementError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.statusCode, 404);
      return true;
    });
    await mgmt.users.authenticators.deleteAll(seed.userID);
    const page = await mgmt.users.authenticationMethods.list(seed.userID, { include_totals: true });
    assert.equal(page.data.length, 0);
    const again = await passwordGrantMFA();
    assert.deepEqual(again.mfa_requirements, { enroll: [{ type: 'otp' }] });
  });
});
