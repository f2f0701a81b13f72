// What every SDK test file shares: the environment TestAuth0NodeSDK
// (internal/server/sdk_node_test.go) sets, a Management API client of the
// tenant it serves, and the mailbox of the SMTP listener it runs.
import { ManagementClient } from 'auth0';

export function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (TestAuth0NodeSDK sets it)`);
  return v;
}

export const domain = required('GATEHOUSE_DOMAIN'); // host:port, as an Auth0 tenant domain

export const mgmt = new ManagementClient({
  domain,
  clientId: required('GATEHOUSE_CLIENT_ID'),
  clientSecret: required('GATEHOUSE_CLIENT_SECRET'),
});

// mailTo waits for a message to addr whose text matches want, at
// MAILBOX_URL?to=ADDRESS, and returns that text.
export async function mailTo(addr, want = /[^]/) {
  const mailbox = required('MAILBOX_URL');
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${mailbox}?to=${encodeURIComponent(addr)}`);
    if (res.status === 200) {
      const text = await res.text();
      if (want.test(text)) return text;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail to ${addr} matching ${want}`);
}
