// The nexodus web UI: plain JavaScript against nexapi's JSON API on the
// same origin (docs/api.md). Every string from the API reaches the page
// through textContent or DOM APIs, never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'nexodus.token';
  const ORG_KEY = 'nexodus.org';
  const WATCH_TIMEOUT = 25;          // seconds the server may hold a watch
  const REFRESH_MS = 30000;          // relist to refresh last_seen/online (no watch event)
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const EXIT_PREFIX = '0.0.0.0/0';
  const EXIT_PREFIX6 = '::/0';

  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    admin: false,
    orgs: [],
    org: null,                 // the organization name shown
    devices: new Map(),        // id -> device
    rows: new Map(),           // id -> <tr>
    revision: 0,
    session: 0,                // bumped on sign-out / org switch: stale loops stop
    watchAbort: null,
    retryMs: RETRY_MIN_MS,
    retryTimer: null,
    retryAction: null,
    refreshTimer: null,
    pending: new Set(),        // device ids with a PATCH in flight
  };

  // ---- small DOM helpers (text only) ----

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else if (k === 'onclick') e.addEventListener('click', v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function setText(node, text) {
    node.textContent = text == null ? '' : String(text);
  }

  function announce(text) {
    const s = $('status');
    setText(s, '');
    // A fresh text node each time so that screen readers announce repeats.
    window.setTimeout(() => setText(s, text), 50);
  }

  // ---- the API ----

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  class NetError extends Error {}

  async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    const token = opts.token || state.token;
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method, headers, cache: 'no-store', credentials: 'omit', signal: opts.signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new NetError('the server cannot be reached');
    }
    let data = null;
    if (resp.status !== 204) {
      const text = await resp.text().catch(() => '');
      if (text) {
        try { data = JSON.parse(text); } catch (_) { data = null; }
      }
    }
    if (!resp.ok) {
      const code = data && typeof data.error === 'string' ? data.error : 'http_' + resp.status;
      const msg = data && typeof data.message === 'string' ? data.message : resp.statusText;
      throw new ApiError(resp.status, code, msg);
    }
    return data;
  }

  function q(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.set(k, v);
    const s = u.toString();
    return s ? '?' + s : '';
  }

  // Central handling of errors from any action: a refused token signs out,
  // a lost server shows the banner, anything else is shown where it happened.
  function handleError(err, where) {
    if (err instanceof ApiError && err.status === 401) {
      signOut('The server no longer accepts this token (' + err.message + '). Sign in again.');
      return true;
    }
    if (err instanceof NetError || (err instanceof ApiError && err.status >= 500)) {
      serverLost(err);
      return true;
    }
    if (where) {
      announce(where + ': ' + err.message);
      showBanner(where + ': ' + err.message, false);
    }
    return false;
  }

  // ---- banner: lost server, other errors ----

  function showBanner(text, retry) {
    setText($('banner-text'), text);
    $('banner-retry').hidden = !retry;
    $('banner-close').hidden = !!retry;
    $('banner').hidden = false;
  }

  function hideBanner() {
    $('banner').hidden = true;
    setText($('banner-text'), '');
  }

  // Shows the banner and retries `action` (default: reload the
  // organization and watch again) with a growing delay.
  function serverLost(err, action) {
    if (state.retryTimer) return;   // already retrying
    const secs = Math.round(state.retryMs / 1000);
    showBanner('Lost contact with the server (' + err.message + '). Retrying in ' + secs + ' s.', true);
    const session = state.session;
    state.retryAction = action || reconnect;
    state.retryTimer = window.setTimeout(() => {
      state.retryTimer = null;
      if (session === state.session) state.retryAction();
    }, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
  }

  function retryNow() {
    if (state.retryTimer) window.clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.retryMs = RETRY_MIN_MS;
    (state.retryAction || reconnect)();
  }

  async function reconnect() {
    if (state.retryTimer) {
      window.clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
    if (!state.token) return;
    stopWatch();
    try {
      await loadAll();
    } catch (err) {
      handleError(err, 'Reconnecting');
    }
  }

  function serverBack() {
    state.retryMs = RETRY_MIN_MS;
    if (!$('banner-retry').hidden) hideBanner();
  }

  // ---- sign-in / sign-out ----

  async function signIn(token) {
    // Who is this? GET /organizations refuses a bad token (401) and a
    // registration key (403); GET /reg-keys refuses a device token (403);
    // creating an organization is admin-only (others 403), so an empty
    // body tells an admin (400, nothing created) from an organization token.
    const orgs = await api('GET', '/api/v1/organizations', undefined, { token });
    await api('GET', '/api/v1/reg-keys' + q({ organization: orgs[0] && orgs[0].name }),
      undefined, { token });
    let admin = false;
    try {
      await api('POST', '/api/v1/organizations', {}, { token });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      admin = e.status === 400;
    }
    return { orgs, admin };
  }

  function showSignIn(message) {
    $('app').hidden = true;
    $('session').hidden = true;
    $('signin').hidden = false;
    setText($('signin-error'), message || '');
    const input = $('token');
    input.value = '';
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    input.focus();
  }

  function signOut(message) {
    state.session++;
    stopWatch();
    stopRefresh();
    if (state.retryTimer) window.clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.retryMs = RETRY_MIN_MS;
    state.token = null;
    state.admin = false;
    state.orgs = [];
    state.org = null;
    clearDevices();
    $('key-rows').replaceChildren();
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ORG_KEY);
    hideBanner();
    showSignIn(message);
  }

  async function start(token, fromForm) {
    const button = $('signin-submit');
    let who;
    button.disabled = true;
    try {
      who = await signIn(token);
    } catch (err) {
      const lost = err instanceof NetError || (err instanceof ApiError && err.status >= 500);
      if (lost && !fromForm) {
        // A reload while the server is away: keep the token, retry.
        showSignIn('');
        serverLost(err, () => start(token, false));
        return;
      }
      state.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      let msg;
      if (err instanceof ApiError && err.status === 401) {
        msg = 'This token was refused: ' + err.message + '.';
      } else if (err instanceof ApiError && err.status === 403) {
        msg = 'This token cannot manage an organization (a device token or a registration key?). '
          + 'Use an admin or organization token.';
      } else if (lost) {
        msg = 'The server cannot be reached (' + err.message + '). Try again.';
      } else {
        msg = 'Sign-in failed: ' + err.message;
      }
      showSignIn(msg);
      return;
    } finally {
      button.disabled = false;
    }
    hideBanner();
    state.retryMs = RETRY_MIN_MS;
    state.token = token;
    state.admin = who.admin;
    state.orgs = who.orgs;
    sessionStorage.setItem(TOKEN_KEY, token);
    const saved = sessionStorage.getItem(ORG_KEY);
    const has = (name) => who.orgs.some((o) => o.name === name);
    if (state.admin && saved && has(saved)) state.org = saved;
    else if (state.admin && has('default')) state.org = 'default';
    else state.org = who.orgs[0] ? who.orgs[0].name : null;
    $('token').value = '';
    $('signin').hidden = true;
    $('app').hidden = false;
    $('session').hidden = false;
    renderOrgs();
    if (fromForm) $('devices-title').focus();
    try {
      await loadAll();
    } catch (err) {
      handleError(err, 'Loading the organization');
    }
  }

  // ---- organizations ----

  function renderOrgs() {
    const select = $('org-select');
    select.replaceChildren(...state.orgs.map((o) =>
      el('option', { value: o.name }, o.name + ' (' + o.prefix + ')')));
    select.value = state.org || '';
    $('org-pick').hidden = !state.admin;
    $('org-new').hidden = !state.admin;
    const org = currentOrg();
    setText($('org-name'), state.admin ? '' : (org ? org.name + ' (' + org.prefix + ')' : ''));
    renderApproval();
  }

  function currentOrg() {
    return state.orgs.find((o) => o.name === state.org) || null;
  }

  // The organization's exit_node_approval ("admin" or "auto"); hidden for a
  // server older than the setting.
  function renderApproval() {
    const org = currentOrg();
    const mode = org && (org.exit_node_approval === 'admin' || org.exit_node_approval === 'auto')
      ? org.exit_node_approval : null;
    $('approval-setting').hidden = !mode;
    if (!mode) return;
    $('approval-select').value = mode;
    setText($('approval-note'), mode === 'auto'
      ? 'Exit nodes and routes are approved as their devices advertise them.'
      : 'An advertised exit node or route is used only once approved here.');
  }

  async function changeApproval(mode) {
    const org = currentOrg();
    if (!org || org.exit_node_approval === mode) return;
    const select = $('approval-select');
    select.disabled = true;
    try {
      const updated = await api('PATCH', '/api/v1/organizations/' + encodeURIComponent(org.name),
        { exit_node_approval: mode });
      state.orgs = state.orgs.map((o) => (o.name === org.name ? updated : o));
      announce('Exit-node approval of ' + org.name + ': ' + (mode === 'auto' ? 'automatic' : 'by an admin'));
    } catch (err) {
      handleError(err, 'Changing the exit-node approval');
    } finally {
      select.disabled = false;
      renderApproval();
    }
  }

  async function switchOrg(name) {
    state.org = name;
    sessionStorage.setItem(ORG_KEY, name);
    stopWatch();
    clearDevices();
    $('key-rows').replaceChildren();
    renderOrgs();
    try {
      await loadAll();
      announce('Showing organization ' + name);
    } catch (err) {
      handleError(err, 'Loading ' + name);
    }
  }

  async function createOrg(ev) {
    ev.preventDefault();
    const name = $('org-name-input').value.trim();
    const prefix = $('org-prefix-input').value.trim();
    const errEl = $('org-error');
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
      setText(errEl, 'The name must be 1 to 63 lowercase letters, digits or dashes, '
        + 'not starting with a dash.');
      $('org-name-input').setAttribute('aria-invalid', 'true');
      $('org-name-input').focus();
      return;
    }
    $('org-name-input').setAttribute('aria-invalid', 'false');
    const body = { name };
    if (prefix) body.prefix = prefix;
    // sent only when not the default, so that an older server still takes it
    if ($('org-approval-input').value === 'auto') body.exit_node_approval = 'auto';
    $('org-create').disabled = true;
    try {
      const org = await api('POST', '/api/v1/organizations', body);
      state.orgs = await api('GET', '/api/v1/organizations');
      $('org-dialog').close();
      announce('Organization ' + org.name + ' created');
      await switchOrg(org.name);
    } catch (err) {
      if (!handleError(err)) setText(errEl, err.message);
    } finally {
      $('org-create').disabled = false;
    }
  }

  function openOrgDialog() {
    $('org-name-input').value = '';
    $('org-prefix-input').value = '';
    $('org-approval-input').value = 'admin';
    setText($('org-error'), '');
    $('org-dialog').showModal();
    $('org-name-input').focus();
  }

  // ---- devices ----

  function ipKey(ip) {
    const p = String(ip).split('.').map((x) => parseInt(x, 10));
    if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return Number.MAX_SAFE_INTEGER;
    return ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];
  }

  // A device's advertise_cidrs are requests; approved_cidrs what the
  // organization honours (absent from an older server: none). Clients use
  // an exit node only when 0.0.0.0/0 is in both.
  function advertises(d, c) {
    return Array.isArray(d.advertise_cidrs) && d.advertise_cidrs.includes(c);
  }

  function approved(d, c) {
    return Array.isArray(d.approved_cidrs) && d.approved_cidrs.includes(c);
  }

  function isExitNode(d) {
    return advertises(d, EXIT_PREFIX) && approved(d, EXIT_PREFIX);
  }

  function isPendingExit(d) {
    return advertises(d, EXIT_PREFIX) && !approved(d, EXIT_PREFIX);
  }

  // The text under a device's exit-node toggle when it has no approved exit
  // node to use; '' when it has one.
  function noExitText(d) {
    let others = 0, self = false;
    for (const o of state.devices.values()) {
      if (!isExitNode(o)) continue;
      if (o.id === d.id) self = true;
      else others++;
    }
    if (others > 0) return '';
    return self ? 'No other approved exit node in the organization.'
      : 'No approved exit node in the organization.';
  }

  // Every row's note, after any device changed.
  function refreshExitNotes() {
    for (const [id, row] of state.rows) {
      const d = state.devices.get(id);
      const note = row.querySelector('.no-exit-note');
      if (!d || !note) continue;
      const text = noExitText(d);
      setText(note, text);
      note.hidden = !text;
    }
  }

  function ago(iso) {
    if (!iso) return 'never';
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return String(iso);
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }

  // A table cell whose content sits in one box (rows become cards at phone
  // width, with the column name from data-label in front).
  function cell(label, cls, ...children) {
    return el('td', { 'data-label': label, class: cls }, el('div', { class: 'cell' }, ...children));
  }

  function list(items, render) {
    if (!items || items.length === 0) return el('span', { class: 'none' }, 'none');
    return el('ul', { class: 'plain' }, items.map((x) => el('li', null, render(x))));
  }

  function deviceRow(d) {
    const exit = isExitNode(d);
    const pendingExit = isPendingExit(d);
    const busy = state.pending.has(d.id);
    const name = String(d.hostname);
    const tr = el('tr', { dataset: { id: d.id }, class: exit ? 'exit' : (pendingExit ? 'exit-pending' : null) });

    let badge = null;
    if (exit) {
      badge = el('span', { class: 'badge exit-badge', title: 'advertises 0.0.0.0/0, approved: devices may use it' },
        'exit node');
    } else if (pendingExit) {
      badge = el('span', {
        class: 'badge exit-badge pending-badge',
        title: 'advertises 0.0.0.0/0, not approved: no device uses it until it is approved',
      }, 'exit node (pending approval)');
    }
    const host = cell('Hostname', 'host',
      el('span', { class: 'hostname' }, name),
      badge,
      (d.os || d.version)
        ? el('span', { class: 'sub' }, [d.os, d.version].filter(Boolean).join(' '))
        : null);

    // The IPv6 tunnel address (null when the organization has no prefix6).
    const tunnel = cell('Tunnel address', null, el('code', null, d.tunnel_ip),
      typeof d.tunnel_ip6 === 'string' && d.tunnel_ip6
        ? el('code', { class: 'sub tunnel-ip6', title: 'IPv6 tunnel address' }, d.tunnel_ip6)
        : null);

    // Each endpoint with how the device learned it; a relayed address (a
    // TURN relay's, "source": "relay") is labelled as the relay.
    const eps = cell('Endpoints', null,
      list(d.endpoints, (e) => e.source === 'relay'
        ? [el('code', { class: 'relay-endpoint' }, e.address), ' ',
          el('span', { class: 'badge relay-badge', title: 'relayed address: reached through a TURN relay' }, 'relay')]
        : [el('code', null, e.address), ' ', el('span', { class: 'sub' }, e.source)]));

    // Each advertised prefix with its approval; a route (not a default
    // route: those are the exit node's button) has its own button.
    const prefixes = cell('Advertised prefixes', null,
      list(d.advertise_cidrs, (c) => {
        const ok = approved(d, c);
        const isDefault = c === EXIT_PREFIX || c === EXIT_PREFIX6;
        return [
          el('code', null, c),
          isDefault ? el('span', { class: 'badge exit-badge' }, 'exit') : null,
          el('span', {
            class: 'badge ' + (ok ? 'approved-badge' : 'pending-badge'),
            title: ok ? 'approved: routed through this device' : 'not approved: not routed until approved',
          }, ok ? 'approved' : 'pending'),
          isDefault ? null : el('button', {
            type: 'button',
            class: 'secondary small',
            'aria-label': (ok ? 'Unapprove ' : 'Approve ') + c + ' on ' + name,
            dataset: { action: (ok ? 'unapprove:' : 'approve:') + c },
            'aria-busy': busy ? 'true' : null,
            onclick: () => setApproval(d.id, !ok, [c], 'route ' + c),
          }, ok ? 'Unapprove' : 'Approve'),
        ];
      }));

    const wanted = !!d.exit_node_client;
    const toggle = el('button', {
      type: 'button',
      class: 'toggle' + (wanted ? ' on' : ''),
      'aria-pressed': wanted ? 'true' : 'false',
      'aria-label': 'Use exit node: ' + name,
      dataset: { action: 'exit' },
      'aria-busy': busy ? 'true' : null,
      onclick: () => toggleExit(d.id),
    }, 'Use exit node', el('span', { class: 'state', 'aria-hidden': 'true' }, wanted ? 'on' : 'off'));
    const noExit = noExitText(d);
    const client = cell('Exit-node client', null,
      toggle,
      el('span', { class: 'sub no-exit-note', hidden: !noExit }, noExit),
      el('span', { class: 'sub reported' }, 'reported: ', el('span', { class: 'status-text' }, d.exit_node_status)));

    const seen = cell('Last seen', null,
      el('span', { class: 'dot ' + (d.online ? 'online' : 'offline'), 'aria-hidden': 'true' }),
      el('span', { class: 'online-text' }, d.online ? 'online' : 'offline'),
      el('span', { class: 'sub' },
        d.last_seen ? el('time', { datetime: d.last_seen, title: d.last_seen }, ago(d.last_seen)) : 'never'));

    // The exit node's approval: 0.0.0.0/0, and ::/0 when it advertises it.
    const defaults = [EXIT_PREFIX, EXIT_PREFIX6].filter((c) => advertises(d, c));
    let exitButton = null;
    if (pendingExit) {
      exitButton = el('button', {
        type: 'button',
        class: 'approve',
        'aria-label': 'Approve exit node: ' + name,
        dataset: { action: 'approve' },
        'aria-busy': busy ? 'true' : null,
        onclick: () => setApproval(d.id, true, defaults.filter((c) => !approved(d, c)), 'exit node'),
      }, 'Approve exit node');
    } else if (exit) {
      exitButton = el('button', {
        type: 'button',
        class: 'secondary',
        'aria-label': 'Unapprove exit node: ' + name,
        dataset: { action: 'unapprove' },
        'aria-busy': busy ? 'true' : null,
        onclick: () => setApproval(d.id, false, defaults.filter((c) => approved(d, c)), 'exit node'),
      }, 'Unapprove exit node');
    }
    const actions = cell('Actions', 'actions',
      exitButton,
      el('button', {
        type: 'button',
        class: 'danger',
        'aria-label': 'Delete device ' + name,
        dataset: { action: 'delete' },
        onclick: () => deleteDevice(d.id),
      }, 'Delete'));

    tr.append(host, tunnel, eps, prefixes, client, seen, actions);
    return tr;
  }

  // Puts the device's row in place (ordered by tunnel address), replacing
  // its old row and keeping the keyboard focus on the same button.
  function upsertRow(d) {
    const tbody = $('device-rows');
    const old = state.rows.get(d.id);
    const row = deviceRow(d);
    let focusAction = null;
    if (old && old.contains(document.activeElement)) {
      focusAction = document.activeElement.dataset ? document.activeElement.dataset.action : null;
    }
    if (old) old.remove();
    state.rows.set(d.id, row);
    const key = ipKey(d.tunnel_ip);
    let before = null;
    for (const r of tbody.children) {
      const other = state.devices.get(r.dataset.id);
      if (other && other.id !== d.id && ipKey(other.tunnel_ip) > key) {
        before = r;
        break;
      }
    }
    tbody.insertBefore(row, before);
    if (focusAction) {
      // the same button, or the one that replaced it (approve <-> unapprove)
      const swapped = focusAction.startsWith('approve') ? 'un' + focusAction
        : (focusAction.startsWith('unapprove') ? focusAction.slice(2) : focusAction);
      const b = [...row.querySelectorAll('[data-action]')].find((x) => x.dataset.action === focusAction)
        || [...row.querySelectorAll('[data-action]')].find((x) => x.dataset.action === swapped);
      if (b) b.focus();
    }
  }

  function removeRow(id) {
    const row = state.rows.get(id);
    const hadFocus = row && row.contains(document.activeElement);
    if (row) row.remove();
    state.rows.delete(id);
    state.devices.delete(id);
    if (hadFocus) $('devices-title').focus();
    refreshExitNotes();
  }

  function updateEmpty() {
    $('devices-empty').hidden = state.devices.size !== 0;
    $('devices').hidden = state.devices.size === 0;
  }

  function clearDevices() {
    state.devices.clear();
    state.rows.clear();
    $('device-rows').replaceChildren();
    updateEmpty();
  }

  function applyDevice(d) {
    state.devices.set(d.id, d);
    upsertRow(d);
    updateEmpty();
    refreshExitNotes();
  }

  async function listDevices() {
    const org = state.org, session = state.session;
    const res = await api('GET', '/api/v1/devices' + q({ organization: org }));
    if (org !== state.org || session !== state.session) return;   // switched meanwhile
    const seen = new Set();
    for (const d of res.devices) {
      seen.add(d.id);
      const old = state.devices.get(d.id);
      if (!old || JSON.stringify(old) !== JSON.stringify(d)) applyDevice(d);
    }
    for (const id of [...state.devices.keys()]) if (!seen.has(id)) removeRow(id);
    updateEmpty();
    state.revision = res.revision;
  }

  async function toggleExit(id) {
    const d = state.devices.get(id);
    if (!d || state.pending.has(id)) return;
    const want = !d.exit_node_client;
    state.pending.add(id);
    const row = state.rows.get(id);
    const button = row && row.querySelector('[data-action="exit"]');
    if (button) button.setAttribute('aria-busy', 'true');
    try {
      const nd = await api('PATCH', '/api/v1/devices/' + encodeURIComponent(id), { exit_node_client: want });
      state.pending.delete(id);
      if (nd && nd.id === id && state.devices.has(id)) {
        const cur = state.devices.get(id);
        if (!cur.revision || nd.revision >= cur.revision) applyDevice(nd);
      }
      announce((want ? 'Exit node turned on for ' : 'Exit node turned off for ') + d.hostname);
    } catch (err) {
      state.pending.delete(id);
      if (err instanceof ApiError && err.status === 404) {
        removeRow(id);
        updateEmpty();
        announce('That device no longer exists');
      } else {
        handleError(err, 'Changing ' + d.hostname);
      }
    } finally {
      const cur = state.devices.get(id);
      if (cur) upsertRow(cur);
    }
  }

  // Approves (or withdraws) prefixes of a device after a confirmation: an
  // exit node sees the traffic of the devices that use it.
  async function setApproval(id, approve, cidrs, what) {
    const d = state.devices.get(id);
    if (!d || state.pending.has(id) || cidrs.length === 0) return;
    const name = d.hostname;
    const exitNode = what === 'exit node';
    let text;
    if (exitNode && approve) {
      text = 'Devices of the organization that use an exit node may then send all their internet traffic '
        + 'through ' + name + ', which sees it. Approve only a machine you trust.';
    } else if (exitNode) {
      text = 'Devices that use ' + name + ' as their exit node stop at once: they move to another approved '
        + 'exit node, or have no internet access until there is one.';
    } else if (approve) {
      text = 'The devices of the organization will route ' + cidrs.join(', ') + ' through ' + name + '.';
    } else {
      text = 'The devices of the organization stop routing ' + cidrs.join(', ') + ' through ' + name + '.';
    }
    const ok = await confirmDialog((approve ? 'Approve ' : 'Unapprove ') + what + ' ' + name + '?', text,
      approve ? 'Approve' : 'Unapprove');
    if (!ok) return;
    state.pending.add(id);
    const row = state.rows.get(id);
    if (row) for (const b of row.querySelectorAll('button')) b.setAttribute('aria-busy', 'true');
    try {
      const nd = await api('POST', '/api/v1/devices/' + encodeURIComponent(id) + (approve ? '/approve' : '/unapprove'),
        { cidrs });
      state.pending.delete(id);
      if (nd && nd.id === id && state.devices.has(id)) {
        const cur = state.devices.get(id);
        if (!cur.revision || nd.revision >= cur.revision) applyDevice(nd);
      }
      announce((approve ? 'Approved ' : 'Unapproved ') + what + ' ' + name);
    } catch (err) {
      state.pending.delete(id);
      if (err instanceof ApiError && err.status === 404) {
        removeRow(id);
        updateEmpty();
        announce('That device no longer exists');
      } else {
        handleError(err, (approve ? 'Approving ' : 'Unapproving ') + name);
      }
    } finally {
      const cur = state.devices.get(id);
      if (cur) upsertRow(cur);
    }
  }

  async function deleteDevice(id) {
    const d = state.devices.get(id);
    if (!d) return;
    const ok = await confirmDialog('Delete device ' + d.hostname + '?',
      'The device ' + d.hostname + ' (' + d.tunnel_ip + ') is removed from the organization: '
      + 'its tunnel address is released and its tokens stop working. It must register again '
      + 'with a new key to come back.', 'Delete device');
    if (!ok) return;
    try {
      await api('DELETE', '/api/v1/devices/' + encodeURIComponent(id));
      removeRow(id);
      updateEmpty();
      $('devices-title').focus();
      announce('Device ' + d.hostname + ' deleted');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        removeRow(id);
        updateEmpty();
      } else {
        handleError(err, 'Deleting ' + d.hostname);
      }
    }
  }

  // ---- watch: long poll from the listed revision; relist on 410 ----

  function sleep(ms, signal) {
    return new Promise((res) => {
      const t = window.setTimeout(res, ms);
      if (signal) signal.addEventListener('abort', () => { window.clearTimeout(t); res(); }, { once: true });
    });
  }

  function stopWatch() {
    if (state.watchAbort) state.watchAbort.abort();
    state.watchAbort = null;
  }

  function setLive(on) {
    setText($('live'), on ? 'live' : 'paused');
    $('live').classList.toggle('on', on);
  }

  // Events arrive oldest first; one older than what a concurrent relist
  // already showed is skipped.
  function applyEvent(ev) {
    if (!ev || !ev.device) return;
    const cur = state.devices.get(ev.device.id);
    if (cur && typeof ev.revision === 'number' && ev.revision < cur.revision) return;
    if (ev.type === 'delete') removeRow(ev.device.id);
    else if (ev.type === 'upsert') applyDevice(ev.device);
  }

  async function watchLoop() {
    stopWatch();
    const ctl = new AbortController();
    state.watchAbort = ctl;
    const session = state.session;
    const org = state.org;
    setLive(true);
    while (!ctl.signal.aborted && session === state.session && org === state.org) {
      const started = Date.now();
      try {
        const res = await api('GET', '/api/v1/devices/watch'
          + q({ revision: state.revision, timeout: WATCH_TIMEOUT, organization: org }),
        undefined, { signal: ctl.signal });
        if (ctl.signal.aborted || org !== state.org) return;
        serverBack();
        for (const ev of res.events) applyEvent(ev);
        updateEmpty();
        state.revision = Math.max(state.revision, res.revision);
        // An empty answer that came back at once (a server shutting down
        // answers every watcher): pause instead of asking again in a loop.
        if (res.events.length === 0 && Date.now() - started < 1000) await sleep(1000, ctl.signal);
      } catch (err) {
        if (ctl.signal.aborted || (err && err.name === 'AbortError')) return;
        if (err instanceof ApiError && err.status === 410) {
          try {
            await listDevices();
            continue;
          } catch (e2) {
            err = e2;
          }
        }
        setLive(false);
        if (state.watchAbort === ctl) state.watchAbort = null;
        handleError(err, 'Watching devices');
        return;
      }
    }
  }

  function refreshTimes() {
    for (const t of $('device-rows').querySelectorAll('time[datetime]')) {
      setText(t, ago(t.getAttribute('datetime')));
    }
  }

  function stopRefresh() {
    if (state.refreshTimer) window.clearInterval(state.refreshTimer);
    state.refreshTimer = null;
  }

  function startRefresh() {
    stopRefresh();
    state.refreshTimer = window.setInterval(() => {
      if (!state.token || !state.watchAbort) return;
      listDevices().then(refreshTimes).catch((err) => handleError(err));
    }, REFRESH_MS);
  }

  // ---- registration keys ----

  function keyRow(k) {
    // A reusable key stays usable after its first use; a single-use one does not.
    const spent = k.single_use && k.used;
    const stateText = k.revoked ? 'revoked' : (spent ? 'used' : (expired(k) ? 'expired' : 'usable'));
    return el('tr', { dataset: { id: k.id } },
      cell('Key id', null, el('code', null, k.id)),
      cell('Use', null, k.single_use ? 'single use' : 'reusable'),
      cell('Expires', null, k.expires_at ? el('time', { datetime: k.expires_at }, k.expires_at) : 'never'),
      cell('State', null, el('span', { class: 'badge key-' + stateText }, stateText)),
      cell('Created', null, el('time', { datetime: k.created_at }, k.created_at)),
      cell('Actions', 'actions',
        (k.revoked || spent || expired(k)) ? null : el('button', {
          type: 'button',
          class: 'secondary',
          'aria-label': 'Revoke key ' + k.id,
          onclick: () => revokeKey(k),
        }, 'Revoke')));
  }

  function expired(k) {
    return k.expires_at && Date.parse(k.expires_at) <= Date.now();
  }

  async function listKeys() {
    const org = state.org, session = state.session;
    const keys = await api('GET', '/api/v1/reg-keys' + q({ organization: org }));
    if (org !== state.org || session !== state.session) return;
    $('key-rows').replaceChildren(...keys.map(keyRow));
    $('keys-empty').hidden = keys.length !== 0;
    $('keys').hidden = keys.length === 0;
  }

  async function createKey(ev) {
    ev.preventDefault();
    const body = { organization: state.org, single_use: $('key-single').checked };
    const exp = parseInt($('key-expiry').value, 10);
    body.expires_in = exp > 0 ? exp : null;   // null: never (the server's default is 24 h)
    $('key-create').disabled = true;
    try {
      const k = await api('POST', '/api/v1/reg-keys', body);
      showKey(k.key);
      announce('Registration key ' + k.id + ' created');
      listKeys().catch((err) => handleError(err));
    } catch (err) {
      handleError(err, 'Creating a key');
    } finally {
      $('key-create').disabled = false;
    }
  }

  function showKey(key) {
    const input = $('key-value');
    input.value = key;
    setText($('key-copied'), '');
    $('key-dialog').showModal();
    input.focus();
    input.select();
  }

  async function copyKey() {
    const input = $('key-value');
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch (_) {
      input.focus();
      input.select();
      try { ok = document.execCommand('copy'); } catch (_e) { ok = false; }
    }
    setText($('key-copied'), ok ? 'Copied.' : 'Copy failed: select the key and copy it by hand.');
  }

  function closeKeyDialog() {
    $('key-value').value = '';     // shown once: gone from the page when closed
    $('key-dialog').close();
    $('key-create').focus();
  }

  async function revokeKey(k) {
    const ok = await confirmDialog('Revoke key ' + k.id + '?',
      'Devices already registered with it stay; no new device can register with it.', 'Revoke key');
    if (!ok) return;
    try {
      await api('DELETE', '/api/v1/reg-keys/' + encodeURIComponent(k.id));
      announce('Key ' + k.id + ' revoked');
      await listKeys();
      $('keys-title').focus();
    } catch (err) {
      handleError(err, 'Revoking ' + k.id);
    }
  }

  // ---- the confirmation dialog (a real <dialog>, modal, Esc cancels) ----

  function confirmDialog(title, text, action) {
    const dlg = $('confirm-dialog');
    setText($('confirm-title'), title);
    setText($('confirm-text'), text);
    setText($('confirm-ok'), action);
    return new Promise((resolve) => {
      const done = () => {
        dlg.removeEventListener('close', done);
        resolve(dlg.returnValue === 'ok');
      };
      dlg.returnValue = '';
      dlg.addEventListener('close', done);
      dlg.showModal();
      $('confirm-cancel').focus();
    });
  }

  // ---- loading everything for the current organization ----

  async function loadAll() {
    const session = state.session;
    await listDevices();
    if (session !== state.session) return;
    await listKeys();
    if (session !== state.session) return;
    serverBack();
    watchLoop();
    startRefresh();
  }

  // ---- wiring ----

  function init() {
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('token').value.trim();
      if (!token) {
        showSignIn('Enter an API token.');
        return;
      }
      start(token, true);
    });
    $('sign-out').addEventListener('click', () => signOut('Signed out.'));
    $('banner-retry').addEventListener('click', retryNow);
    $('banner-close').addEventListener('click', hideBanner);
    $('org-select').addEventListener('change', (ev) => switchOrg(ev.target.value));
    $('org-new').addEventListener('click', openOrgDialog);
    $('approval-select').addEventListener('change', (ev) => changeApproval(ev.target.value));
    $('org-form').addEventListener('submit', createOrg);
    $('org-cancel').addEventListener('click', () => $('org-dialog').close());
    $('key-form').addEventListener('submit', createKey);
    $('key-copy').addEventListener('click', copyKey);
    $('key-done').addEventListener('click', closeKeyDialog);
    $('key-dialog').addEventListener('cancel', (ev) => {
      ev.preventDefault();
      closeKeyDialog();
    });
    $('confirm-cancel').addEventListener('click', () => $('confirm-dialog').close(''));
    $('confirm-ok').addEventListener('click', () => $('confirm-dialog').close('ok'));
    window.addEventListener('online', () => { if (state.token) reconnect(); });

    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) start(saved, false);
    else showSignIn('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
