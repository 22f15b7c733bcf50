// The web UI in a real browser: Debian's chromium driven by playwright-core
// against a real nexapi started here (free port on 127.0.0.1, temporary
// database). Devices are registered through the API with fetch; the UI is
// driven like a user would (labels, buttons, keyboard).
//
//   BUILD=build/<tag> node --test tests/web/ui.test.mjs
//
// Env: BUILD (binaries in $ROOT/$BUILD, default build), NEXAPI (the binary,
// overrides BUILD), CHROMIUM (default /usr/bin/chromium). Artifacts in
// build/web/: devices.png, devices-phone.png, nexapi.log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = process.env.BUILD || 'build';
const NEXAPI = process.env.NEXAPI || resolve(ROOT, BUILD, 'nexapi');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WEB_ROOT = join(ROOT, 'src', 'nexapi', 'web');
const SHOTS = join(ROOT, 'build', 'web');
const MARKUP = '<img src=x onerror=alert(1)>';
const T = 10000; // ms for any one UI expectation

let tmp, server, serverLog = '', base, port, adminToken, orgToken, regKey;
let context, page;
const dialogs = [];      // every JS dialog (alert/confirm/prompt) the page opened
const pageErrors = [];   // uncaught exceptions in the page
const devices = {};      // hostname -> { device, token }

// ---- nexapi ----

function startServer(listen) {
  return new Promise((resolveStart, rejectStart) => {
    const db = join(tmp, 'api.db');
    const child = spawn(NEXAPI, ['--listen', listen, '--db', db, '--log-level', 'info'], {
      env: { ...process.env, NEXAPI_WEB_ROOT: WEB_ROOT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let done = false;
    const onData = (chunk) => {
      serverLog += chunk.toString();
      const m = serverLog.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && !done) {
        done = true;
        resolveStart({ child, port: Number(m[1]) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, sig) => {
      if (!done) {
        done = true;
        rejectStart(new Error(`nexapi exited (${code ?? sig}) before listening:\n${serverLog}`));
      }
    });
    setTimeout(() => {
      if (!done) {
        done = true;
        child.kill('SIGKILL');
        rejectStart(new Error(`nexapi did not start in 10 s:\n${serverLog}`));
      }
    }, 10000);
  });
}

function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => server.kill('SIGKILL'), 5000);
    server.once('exit', () => { clearTimeout(t); res(); });
    server.kill('SIGTERM');
  });
}

async function api(method, path, body, token) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
}

function publicKey() {
  let k;
  do k = randomBytes(32); while (k.every((b) => b === 0));
  return k.toString('base64');
}

async function register(hostname, extra = {}, key = regKey) {
  const r = await api('POST', '/api/v1/devices', { public_key: publicKey(), hostname, ...extra }, key);
  assert.equal(r.status, 201, `register ${hostname}: ${JSON.stringify(r.body)}`);
  devices[hostname] = { device: r.body.device, token: r.body.device_token };
  return devices[hostname];
}

// ---- the page ----

const row = (hostname) => page.locator('#device-rows tr', {
  has: page.locator('.hostname', { hasText: new RegExp('^' + hostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$') }),
});

async function signIn(token) {
  await page.goto(base + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

before(async () => {
  assert.ok(existsSync(NEXAPI), `no nexapi binary at ${NEXAPI} (build it, or set BUILD)`);
  assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}`);
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'nexodus-web-'));
  ({ child: server, port } = await startServer('127.0.0.1:0'));
  base = `http://127.0.0.1:${port}`;
  adminToken = readFileSync(join(tmp, 'api.db.admin-token'), 'utf8').trim();

  let r = await api('POST', '/api/v1/tokens', { organization: 'default' }, adminToken);
  assert.equal(r.status, 201);
  orgToken = r.body.token;
  r = await api('POST', '/api/v1/reg-keys', { organization: 'default', single_use: false }, adminToken);
  assert.equal(r.status, 201);
  regKey = r.body.key;

  await register('exit-1', {
    os: 'linux', version: '0.1.0',
    endpoints: [{ source: 'local', address: '192.0.2.10:51820' }, { source: 'stun', address: '198.51.100.7:40001' },
      { source: 'relay', address: '203.0.113.30:49152' }],
    advertise_cidrs: ['0.0.0.0/0', '203.0.113.0/24'],
  });
  await register('laptop', {
    os: 'linux', version: '0.1.0',
    endpoints: [{ source: 'local', address: '192.0.2.11:51820' }],
  });
  await register('phone', { endpoints: [{ source: 'local', address: '[2001:db8::7]:51820' }] });
  // Markup where the API lets it through (os, version, exit_node_status are
  // printable ASCII); the device token reports a status with markup too.
  await register('markup-host', { os: MARKUP, version: '<b>bold</b>' });
  r = await api('PATCH', `/api/v1/devices/${devices['markup-host'].device.id}`,
    { exit_node_status: '<script>alert(2)</script>' }, devices['markup-host'].token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // The device token's request marks laptop as seen (online).
  r = await api('GET', '/api/v1/devices', undefined, devices.laptop.token);
  assert.equal(r.status, 200);

  context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(T);
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  if (context) await context.close().catch(() => {});
  await stopServer();
  if (serverLog) writeFileSync(join(SHOTS, 'nexapi.log'), serverLog);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// Whatever ends this process, the server it started ends with it.
process.on('exit', () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => process.exit(128 + (sig === 'SIGTERM' ? 15 : 2)));

// ---- the tests, in order (they share the browser and the server) ----

test('the UI is served with a strict header policy', async () => {
  for (const path of ['/', '/index.html', '/app.js', '/style.css']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, path);
    const csp = r.headers.get('content-security-policy');
    assert.equal(csp, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'", path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
  }
  const index = await fetch(base + '/');
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-store');
  assert.match((await fetch(base + '/app.js')).headers.get('content-type'), /^text\/javascript/);
  assert.match((await fetch(base + '/style.css')).headers.get('content-type'), /^text\/css/);
  for (const path of ['/../src/nexapi/static.c', '/%2e%2e/%2e%2e/etc/passwd', '/app.js/', '/nope.html']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 404, path);
  }
});

test('a bad token is refused, back at sign-in with a message', async () => {
  await signIn('nxo_0000000000000000_' + 'A'.repeat(43));
  await page.locator('#signin-error').filter({ hasText: /refused/ }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'signin-refused.png') });
  assert.ok(await page.locator('#signin').isVisible());
  assert.ok(await page.locator('#app').isHidden());
  assert.equal(await page.evaluate(() => sessionStorage.getItem('nexodus.token')), null);
  assert.equal(await page.getByLabel('API token').evaluate((e) => e === document.activeElement), true);

  // A device token may not manage the organization: refused with a reason.
  await signIn(devices.phone.token);
  await page.locator('#signin-error').filter({ hasText: /cannot manage/ }).waitFor();
  assert.ok(await page.locator('#app').isHidden());
});

test('sign in with an organization token and see the devices', async () => {
  await signIn(orgToken);
  await row('exit-1').waitFor();
  for (const h of ['exit-1', 'laptop', 'phone', 'markup-host']) {
    const r = row(h);
    await r.waitFor();
    assert.ok((await r.textContent()).includes(devices[h].device.tunnel_ip), h);
  }
  // Ordered by tunnel address, as the API lists them.
  const ips = await page.locator('#device-rows tr td:nth-child(2)').allTextContents();
  assert.deepEqual(ips, ['exit-1', 'laptop', 'phone', 'markup-host'].map((h) => devices[h].device.tunnel_ip));

  const exitRow = row('exit-1');
  assert.ok(await exitRow.locator('.exit-badge', { hasText: 'exit node' }).isVisible());
  // exit-1 advertises 0.0.0.0/0, not approved yet (the organization's
  // exit_node_approval is "admin"): pending, and nobody has an exit node.
  assert.equal(await exitRow.locator('.host .exit-badge').textContent(), 'exit node (pending approval)');
  assert.ok(await exitRow.getByRole('button', { name: 'Approve exit node: exit-1' }).isVisible());
  assert.equal(await row('laptop').getByRole('button', { name: /Approve exit node/ }).count(), 0);
  assert.equal(await row('laptop').locator('.no-exit-note').textContent(), 'No approved exit node in the organization.');
  assert.ok(await row('laptop').locator('.no-exit-note').isVisible());
  assert.equal(await page.locator('#approval-select').inputValue(), 'admin');
  assert.ok(await page.locator('#approval-setting').isVisible());
  assert.ok((await exitRow.textContent()).includes('192.0.2.10:51820'));
  assert.ok((await exitRow.textContent()).includes('198.51.100.7:40001'));
  assert.ok((await exitRow.textContent()).includes('203.0.113.0/24'));
  assert.equal(await row('laptop').locator('.exit-badge').count(), 0);
  assert.ok((await row('phone').textContent()).includes('[2001:db8::7]:51820'));
  assert.match(await row('laptop').locator('.online-text').textContent(), /^online$/);
  assert.match(await row('laptop').locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  assert.match(await row('laptop').textContent(), /reported: off/);

  // The token stays out of the URL, in session storage only.
  assert.ok(!page.url().includes(orgToken));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('nexodus.token')), orgToken);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  // An organization token sees its organization, without the admin controls.
  assert.ok(await page.locator('#org-select').isHidden());
  assert.ok(await page.getByRole('button', { name: 'New organization' }).isHidden());
  assert.match(await page.locator('#org-name').textContent(), /^default /);
  await page.locator('#live.on').waitFor();

  await page.screenshot({ path: join(SHOTS, 'devices.png'), fullPage: true });
});

test('a relay endpoint is shown, labelled as the relay', async () => {
  const exitRow = row('exit-1');
  await exitRow.waitFor();
  const relay = exitRow.locator('li', { has: page.locator('.relay-badge') });
  assert.equal(await relay.count(), 1);
  assert.equal(await relay.locator('code').textContent(), '203.0.113.30:49152');
  assert.equal(await relay.locator('.relay-badge').textContent(), 'relay');
  assert.match(await relay.locator('.relay-badge').getAttribute('title'), /TURN relay/);
  // The other endpoints keep their plain source label.
  const stun = exitRow.locator('li', { hasText: '198.51.100.7:40001' });
  assert.equal(await stun.locator('.relay-badge').count(), 0);
  assert.match(await stun.textContent(), /stun$/);
  assert.equal(await row('laptop').locator('.relay-badge').count(), 0);

  // A device that publishes a relayed address later: shown live (watch).
  const r = await api('PATCH', `/api/v1/devices/${devices.laptop.device.id}`,
    { endpoints: [{ source: 'local', address: '192.0.2.11:51820' }, { source: 'relay', address: '[2001:db8::30]:50000' }] },
    devices.laptop.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await row('laptop').locator('.relay-badge').waitFor();
  assert.equal(await row('laptop').locator('li', { has: page.locator('.relay-badge') }).locator('code').textContent(),
    '[2001:db8::30]:50000');
  // The API takes no other source.
  const bad = await api('PATCH', `/api/v1/devices/${devices.laptop.device.id}`,
    { endpoints: [{ source: 'turn', address: '203.0.113.30:3478' }] }, devices.laptop.token);
  assert.equal(bad.status, 400);
});

test('approve a pending exit node, a route, unapprove, and see approvals made elsewhere', async () => {
  const id = devices['exit-1'].device.id;
  const exitRow = row('exit-1');
  const dlg = page.locator('#confirm-dialog');
  const approvedCidrs = async () => {
    const r = await api('GET', `/api/v1/devices/${id}`, undefined, orgToken);
    assert.equal(r.status, 200);
    return [...r.body.approved_cidrs].sort();
  };
  assert.deepEqual(await approvedCidrs(), []);

  // Approve asks first: Escape changes nothing.
  await exitRow.getByRole('button', { name: 'Approve exit node: exit-1' }).click();
  await dlg.waitFor({ state: 'visible' });
  assert.match(await dlg.locator('#confirm-title').textContent(), /^Approve exit node exit-1\?$/);
  assert.match(await dlg.locator('#confirm-text').textContent(), /which sees it/);
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  assert.deepEqual(await approvedCidrs(), []);

  // Approved: the exit route only (not the subnet it also advertises).
  await exitRow.getByRole('button', { name: 'Approve exit node: exit-1' }).click();
  await dlg.waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await exitRow.locator('.exit-badge', { hasText: /^exit node$/ }).waitFor();
  assert.equal(await exitRow.locator('.exit-badge.pending-badge').count(), 0);
  assert.deepEqual(await approvedCidrs(), ['0.0.0.0/0']);
  await row('laptop').locator('.no-exit-note').waitFor({ state: 'hidden' });
  assert.equal(await exitRow.locator('.no-exit-note').textContent(), 'No other approved exit node in the organization.');
  assert.ok(await exitRow.getByRole('button', { name: 'Unapprove exit node: exit-1' }).isVisible());
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'unapprove');

  // The subnet: pending, with its own button.
  const subnet = exitRow.locator('li', { hasText: '203.0.113.0/24' });
  assert.equal(await subnet.locator('.pending-badge').textContent(), 'pending');
  await subnet.getByRole('button', { name: 'Approve 203.0.113.0/24 on exit-1' }).click();
  await dlg.waitFor({ state: 'visible' });
  assert.match(await dlg.locator('#confirm-text').textContent(), /route 203\.0\.113\.0\/24 through exit-1/);
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await subnet.locator('.approved-badge').waitFor();
  assert.deepEqual(await approvedCidrs(), ['0.0.0.0/0', '203.0.113.0/24']);

  // Unapprove the exit node: pending again, the subnet stays approved.
  await exitRow.getByRole('button', { name: 'Unapprove exit node: exit-1' }).click();
  await dlg.waitFor({ state: 'visible' });
  assert.match(await dlg.locator('#confirm-text').textContent(), /stop at once/);
  await page.getByRole('button', { name: 'Unapprove', exact: true }).click();
  await exitRow.locator('.exit-badge', { hasText: 'exit node (pending approval)' }).waitFor();
  assert.deepEqual(await approvedCidrs(), ['203.0.113.0/24']);
  await row('laptop').locator('.no-exit-note').waitFor({ state: 'visible' });

  // An approval made through the API shows up live (watch).
  let r = await api('POST', `/api/v1/devices/${id}/approve`, { cidrs: ['0.0.0.0/0'] }, orgToken);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await exitRow.locator('.exit-badge', { hasText: /^exit node$/ }).waitFor();
  await row('laptop').locator('.no-exit-note').waitFor({ state: 'hidden' });
  // A device token may not approve, not even its own exit node.
  r = await api('POST', `/api/v1/devices/${id}/approve`, {}, devices['exit-1'].token);
  assert.equal(r.status, 403);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test('markup from the API is shown as text and runs nothing', async () => {
  const r = row('markup-host');
  await r.waitFor();
  const text = await r.textContent();
  assert.ok(text.includes(MARKUP), text);
  assert.ok(text.includes('<b>bold</b>'), text);
  assert.ok(text.includes('<script>alert(2)</script>'), text);
  assert.equal(await page.locator('#device-rows img, #device-rows b, #device-rows script').count(), 0);

  // The API refuses markup in a hostname; the UI must still render one as
  // text if it ever came back: serve a list with one through the browser.
  const refused = await api('POST', '/api/v1/devices', { public_key: publicKey(), hostname: MARKUP }, regKey);
  assert.equal(refused.status, 400);
  const isList = (url) => url.pathname === '/api/v1/devices';
  await page.route(isList, async (route) => {
    const resp = await route.fetch();
    const body = await resp.json();
    for (const d of body.devices) if (d.hostname === 'markup-host') d.hostname = MARKUP;
    await route.fulfill({ response: resp, json: body });
  });
  await page.reload();
  const markupRow = page.locator('#device-rows tr', { has: page.locator('.hostname', { hasText: MARKUP }) });
  await markupRow.waitFor();
  assert.equal(await markupRow.locator('.hostname').textContent(), MARKUP);
  assert.equal(await page.locator('#device-rows img').count(), 0);
  assert.equal(await markupRow.getByRole('button', { name: 'Delete device ' + MARKUP }).count(), 1);
  await page.unroute(isList);
  await page.waitForTimeout(300);   // an onerror would have fired by now
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
  // Back to the real names (and the session survived the reload).
  await page.reload();
  await row('markup-host').waitFor();
});

test('toggle the exit-node client and see the API state change', async () => {
  const id = devices.laptop.device.id;
  const button = row('laptop').getByRole('button', { name: 'Use exit node: laptop' });
  assert.equal(await button.getAttribute('aria-pressed'), 'false');
  await button.click();
  await row('laptop').locator('button[data-action="exit"][aria-pressed="true"]').waitFor();
  let r = await api('GET', `/api/v1/devices/${id}`, undefined, orgToken);
  assert.equal(r.body.exit_node_client, true);
  // The keyboard works too, and the focus stays on the button.
  await row('laptop').getByRole('button', { name: 'Use exit node: laptop' }).focus();
  await page.keyboard.press('Enter');
  await row('laptop').locator('button[data-action="exit"][aria-pressed="false"]').waitFor();
  r = await api('GET', `/api/v1/devices/${id}`, undefined, orgToken);
  assert.equal(r.body.exit_node_client, false);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'exit');
  // Turn it on again; the device reports what it did.
  await row('laptop').getByRole('button', { name: 'Use exit node: laptop' }).click();
  await row('laptop').locator('button[data-action="exit"][aria-pressed="true"]').waitFor();
  r = await api('GET', `/api/v1/devices/${id}`, undefined, orgToken);
  assert.equal(r.body.exit_node_client, true);
});

test('changes made through the API appear without a reload (watch)', async () => {
  await page.evaluate(() => { window.__noReload = 42; });
  // The device reports its exit-node state; a new device registers; one is renamed.
  let r = await api('PATCH', `/api/v1/devices/${devices.laptop.device.id}`,
    { exit_node_status: 'connected via exit-1' }, devices.laptop.token);
  assert.equal(r.status, 200);
  await row('laptop').locator('.status-text', { hasText: /^connected via exit-1$/ }).waitFor();

  await register('late-device', { advertise_cidrs: ['0.0.0.0/0'] });
  await row('late-device').waitFor();
  assert.ok(await row('late-device').locator('.exit-badge', { hasText: 'exit node' }).isVisible());

  r = await api('PATCH', `/api/v1/devices/${devices.phone.device.id}`, { hostname: 'phone-renamed' }, orgToken);
  assert.equal(r.status, 200);
  await row('phone-renamed').waitFor();
  assert.equal(await row('phone').count(), 0);

  r = await api('DELETE', `/api/v1/devices/${devices['late-device'].device.id}`, undefined, orgToken);
  assert.equal(r.status, 204);
  await row('late-device').waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => window.__noReload), 42);
});

test('delete a device, after a confirmation dialog', async () => {
  const id = devices['markup-host'].device.id;
  const del = row('markup-host').getByRole('button', { name: 'Delete device markup-host' });
  await del.click();
  const dlg = page.locator('#confirm-dialog');
  await dlg.waitFor({ state: 'visible' });
  assert.equal(await dlg.evaluate((d) => d.open && d.matches(':modal')), true);
  assert.match(await dlg.locator('#confirm-title').textContent(), /Delete device markup-host\?/);
  // The focus is in the dialog, on Cancel; Escape cancels: nothing deleted.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-cancel');
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'hidden' });
  assert.equal((await api('GET', `/api/v1/devices/${id}`, undefined, orgToken)).status, 200);
  assert.ok(await row('markup-host').isVisible());
  // Again, and confirm with the keyboard.
  await del.click();
  await dlg.waitFor({ state: 'visible' });
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-ok');
  await page.keyboard.press('Enter');
  await row('markup-host').waitFor({ state: 'detached' });
  assert.equal((await api('GET', `/api/v1/devices/${id}`, undefined, orgToken)).status, 404);
  assert.deepEqual(dialogs, []);
});

test('create a registration key (shown once, copied), use it, revoke it', async () => {
  await page.getByLabel('Single use').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const dlg = page.locator('#key-dialog');
  await dlg.waitFor({ state: 'visible' });
  const key = await page.getByLabel('Registration key', { exact: true }).inputValue();
  assert.match(key, /^nxr_[0-9a-f]{16}_/);
  await page.screenshot({ path: join(SHOTS, 'key-dialog.png') });
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.locator('#key-copied', { hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await page.getByRole('button', { name: 'Done' }).click();
  await dlg.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('#key-value').inputValue(), '');
  assert.ok(!(await page.content()).includes(key), 'the key is gone from the page');

  const keyId = key.split('_')[1];
  const keyRow = page.locator('#key-rows tr', { hasText: keyId });
  await keyRow.waitFor();
  assert.match(await keyRow.textContent(), /single use/);
  assert.match(await keyRow.textContent(), /usable/);
  // It is a real key: a device registers with it.
  await register('keyed-device', {}, key);
  await row('keyed-device').waitFor();

  // Revoke another, fresh key through the UI.
  let r = await api('POST', '/api/v1/reg-keys', { single_use: false }, orgToken);
  assert.equal(r.status, 201);
  const other = r.body;
  await page.reload();   // the key list has no watch: a reload shows the new one
  const otherRow = page.locator('#key-rows tr', { hasText: other.id });
  await otherRow.getByRole('button', { name: 'Revoke key ' + other.id }).click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Revoke key', exact: true }).click();
  await otherRow.locator('.badge', { hasText: 'revoked' }).waitFor();
  r = await api('POST', '/api/v1/devices', { public_key: publicKey(), hostname: 'refused' }, other.key);
  assert.equal(r.status, 401);
});

test('an admin switches organization and creates one', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('nexodus.token')), null);
  await signIn(adminToken);
  await row('exit-1').waitFor();
  const select = page.getByLabel('Organization', { exact: true });
  assert.equal(await select.inputValue(), 'default');

  await page.getByRole('button', { name: 'New organization' }).click();
  await page.locator('#org-dialog').waitFor({ state: 'visible' });
  // A bad name is refused with a message, in the dialog.
  await page.getByLabel('Name', { exact: true }).fill('Bad Name');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#org-error', { hasText: /lowercase/ }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('acme');
  await page.getByLabel('Address prefix (optional)').fill('100.100.16.0/20');
  await page.locator('#org-approval-input').selectOption('auto');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#org-dialog').waitFor({ state: 'hidden' });
  await page.locator('#devices-empty').waitFor({ state: 'visible' });
  assert.equal(await select.inputValue(), 'acme');
  let orgs = await api('GET', '/api/v1/organizations', undefined, adminToken);
  assert.ok(orgs.body.some((o) => o.name === 'acme' && o.prefix === '100.100.16.0/20' && o.exit_node_approval === 'auto'));
  // The setting is shown and can be changed.
  assert.equal(await page.locator('#approval-select').inputValue(), 'auto');
  await page.locator('#approval-select').selectOption('admin');
  await page.locator('#approval-note', { hasText: /only once approved/ }).waitFor();
  await page.waitForFunction(() => !document.getElementById('approval-select').disabled);
  orgs = await api('GET', '/api/v1/organizations', undefined, adminToken);
  assert.ok(orgs.body.some((o) => o.name === 'acme' && o.exit_node_approval === 'admin'));

  // A device of acme shows up live; default's do not.
  let r = await api('POST', '/api/v1/reg-keys', { organization: 'acme' }, adminToken);
  await register('acme-1', {}, r.body.key);
  await row('acme-1').waitFor();
  assert.equal(await row('exit-1').count(), 0);
  assert.equal(devices['acme-1'].device.tunnel_ip, '100.100.16.1');

  await select.selectOption('default');
  await row('exit-1').waitFor();
  assert.equal(await row('acme-1').count(), 0);
  // An admin approves too: exit-1 was approved above.
  assert.ok(await row('exit-1').getByRole('button', { name: 'Unapprove exit node: exit-1' }).isVisible());
  assert.equal(await page.locator('#approval-select').inputValue(), 'admin');
});

test('an IPv6 tunnel address is shown when the organization has a prefix6', async () => {
  let r = await api('POST', '/api/v1/organizations', { name: 'six', prefix: '100.100.48.0/24', prefix6: '2001:db8:6464::/64' }, adminToken);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await api('POST', '/api/v1/reg-keys', { organization: 'six' }, adminToken);
  await register('six-1', {}, r.body.key);
  assert.equal(devices['six-1'].device.tunnel_ip6, '2001:db8:6464::6464:3001');
  // The organization list is read at sign-in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  await signIn(adminToken);
  await row('exit-1').waitFor();
  assert.equal(await row('exit-1').locator('.tunnel-ip6').count(), 0);
  const select = page.getByLabel('Organization', { exact: true });
  await select.selectOption('six');
  await row('six-1').waitFor();
  assert.equal(await row('six-1').locator('.tunnel-ip6').textContent(), '2001:db8:6464::6464:3001');
  assert.ok((await row('six-1').textContent()).includes('100.100.48.1'));
  await select.selectOption('default');
  await row('exit-1').waitFor();
});

test('usable at phone width', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await row('exit-1').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone`);
  const box = await row('laptop').getByRole('button', { name: 'Use exit node: laptop' }).boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  await page.screenshot({ path: join(SHOTS, 'devices-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('a lost server shows a banner, and the UI recovers when it is back', async () => {
  await stopServer();
  await page.locator('#banner', { hasText: /Lost contact with the server/ }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Retry now' }).isVisible());
  ({ child: server } = await startServer(`127.0.0.1:${port}`));
  await page.getByRole('button', { name: 'Retry now' }).click();
  await page.locator('#banner').waitFor({ state: 'hidden' });
  await row('exit-1').waitFor();
  // And it is live again.
  const r = await api('PATCH', `/api/v1/devices/${devices.laptop.device.id}`, { hostname: 'laptop-2' }, orgToken);
  assert.equal(r.status, 200);
  await row('laptop-2').waitFor();
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
  assert.ok(statSync(join(SHOTS, 'devices.png')).size > 10000);
});
