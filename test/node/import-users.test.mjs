// A users import through Auth0's official Node SDK (npm "auth0" 7.1.0),
// unchanged: the users file goes up as multipart with
// jobs.usersImports.create, the job is polled with jobs.get and its failed
// rows read with jobs.errors.get; the imported user then logs in with the
// password of their old system (an md5 hash, as custom_password_hash).
// Driven by internal/server/sdk_node_test.go (TestAuth0NodeSDK).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { AuthenticationClient } from 'auth0/legacy';
import { domain, mgmt } from './env.mjs';

const CONNECTION = 'Imported-Users';
const OLD_PASSWORD = 'the password from before';

const seed = {};

async function waitJob(id) {
  for (let i = 0; i < 600; i++) {
    const job = await mgmt.jobs.get(id);
    if (job.status === 'completed' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not end`);
}

describe('ManagementClient: bulk import', () => {
  it('sets up an application and a database connection', async () => {
    const client = await mgmt.clients.create({
      name: 'Import App',
      app_type: 'regular_web',
      grant_types: ['password', 'http://auth0.com/oauth/grant-type/password-realm'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    seed.clientID = client.client_id;
    seed.clientSecret = client.client_secret;
    const conn = await mgmt.connections.create({ name: CONNECTION, strategy: 'auth0', enabled_clients: [client.client_id] });
    seed.connectionID = conn.id;
  });

  it('imports a users file with a custom hash and reports the bad row', async () => {
    const users = [
      {
        email: 'moved@node.test',
        email_verified: true,
        user_metadata: { from: 'legacy' },
        custom_password_hash: {
          algorithm: 'md5',
          hash: { value: createHash('md5').update('s4lt' + OLD_PASSWORD).digest('base64'), encoding: 'base64' },
          salt: { value: 's4lt', position: 'prefix' },
        },
      },
      { email: 'broken@node.test', custom_password_hash: { algorithm: 'rot13', hash: { value: 'x' } } },
    ];
    const file = new File([JSON.stringify(users)], 'users.json', { type: 'application/json' });
    const { data: job, rawResponse } = await mgmt.jobs.usersImports
      .create({ users: file, connection_id: seed.connectionID, upsert: false, external_id: 'node-sdk', send_completion_email: false })
      .withRawResponse();
    assert.equal(rawResponse.status, 202);
    assert.equal(job.type, 'users_import');
    assert.equal(job.status, 'pending');
    assert.equal(job.connection_id, seed.connectionID);
    assert.equal(job.external_id, 'node-sdk');

    const done = await waitJob(job.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.summary, { failed: 1, updated: 0, inserted: 1, total: 2 });

    const errors = await mgmt.jobs.errors.get(job.id);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].user.email, 'broken@node.test');
    assert.equal(errors[0].errors[0].code, 'ENUM_MISMATCH');
    assert.equal(errors[0].errors[0].path, 'custom_password_hash.algorithm');
  });

  it('the imported user logs in with their old password', async () => {
    const auth = new AuthenticationClient({ domain, clientId: seed.clientID, clientSecret: seed.clientSecret });
    const res = await auth.oauth.passwordGrant({ username: 'moved@node.test', password: OLD_PASSWORD, realm: CONNECTION, scope: 'openid' });
    assert.equal(res.status, 200);
    assert.equal(typeof res.data.access_token, 'string');
  });
});
