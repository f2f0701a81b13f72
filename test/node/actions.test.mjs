// Rules and post-login Actions managed through Auth0's official Node SDK
// (npm "auth0"), unchanged, against a gatehouse started by
// internal/server/sdk_node_test.go (TestAuth0NodeSDK): a rule is created,
// an Action is created with a secret, deployed and bound to post-login, and
// the SDK's password grant then carries what both set.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { AuthenticationClient } from 'auth0/legacy';
import { domain, mgmt } from './env.mjs';

const CONNECTION = 'actions-db';
const USERNAME = 'action.user@example.com';
const PASSWORD = 'correct horse battery staple 1A!';
const state = {};

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

describe('ManagementClient: rules and Actions', () => {
  it('sets up an application, a connection and a user', async () => {
    const client = await mgmt.clients.create({
      name: 'Actions App', app_type: 'regular_web', grant_types: ['password'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    state.clientID = client.client_id;
    state.clientSecret = client.client_secret;
    await mgmt.connections.create({ name: CONNECTION, strategy: 'auth0', enabled_clients: [state.clientID] });
    await mgmt.users.create({ connection: CONNECTION, email: USERNAME, password: PASSWORD });
    await mgmt.tenants.settings.update({ default_directory: CONNECTION });
  });

  it('creates a rule', async () => {
    const { data, rawResponse } = await mgmt.rules
      .create({
        name: 'node rule',
        script: "function (user, context, callback) { context.idToken['https://example.com/node_rule'] = 'ran'; callback(null, user, context); }",
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.match(data.id, /^rul_/);
    assert.equal(data.enabled, true);
  });

  it('creates an Action with a secret it never shows', async () => {
    const { data, rawResponse } = await mgmt.actions
      .create({
        name: 'node action',
        supported_triggers: [{ id: 'post-login', version: 'v3' }],
        runtime: 'node18',
        code: `exports.onExecutePostLogin = async (event, api) => {
          api.idToken.setCustomClaim('https://example.com/node_action', event.secrets.GREETING + ' ' + event.user.email);
        };`,
        secrets: [{ name: 'GREETING', value: 'hello' }],
      })
      .withRawResponse();
    assert.equal(rawResponse.status, 201);
    assert.equal(data.status, 'built');
    assert.deepEqual(data.secrets.map((s) => s.name), ['GREETING']);
    assert.equal(data.secrets[0].value, undefined);
    state.actionID = data.id;
  });

  it('deploys the Action', async () => {
    const data = await mgmt.actions.deploy(state.actionID);
    assert.equal(data.deployed, true);
    assert.equal(data.number, 1);
    const read = await mgmt.actions.get(state.actionID);
    assert.equal(read.deployed_version.id, data.id);
    assert.equal(read.all_changes_deployed, true);
  });

  it('binds it to post-login', async () => {
    const data = await mgmt.actions.triggers.bindings.updateMany('post-login', {
      bindings: [{ ref: { type: 'action_id', value: state.actionID }, display_name: 'node binding' }],
    });
    assert.equal(data.bindings.length, 1);
    assert.equal(data.bindings[0].action.id, state.actionID);
    const page = await mgmt.actions.triggers.bindings.list('post-login');
    assert.deepEqual(page.data.map((b) => b.display_name), ['node binding']);
    const list = await mgmt.actions.list({ triggerId: 'post-login' });
    assert.deepEqual(list.data.map((a) => a.id), [state.actionID]);
  });

  it('a login runs the rule, then the Action', async () => {
    const auth = new AuthenticationClient({ domain, clientId: state.clientID, clientSecret: state.clientSecret });
    const res = await auth.oauth.passwordGrant({ username: USERNAME, password: PASSWORD, scope: 'openid email' });
    assert.equal(res.status, 200);
    const id = claims(res.data.id_token);
    assert.equal(id['https://example.com/node_rule'], 'ran');
    assert.equal(id['https://example.com/node_action'], `hello ${USERNAME}`);
  });
});
