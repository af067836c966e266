// Operations dashboard: the business view of the last day (jobs published and refused, the
// fields at fault, uploads refused, searches that matched nothing, the webhook backlog, from
// `businessStats`) and the last hour of slug -> UUID lookups, from the API itself. Live: the
// figures and the alerts are pushed over a WebSocket (GraphQL subscriptions, graphql-transport-ws)
// and the charts and /health polled slowly; where WebSockets are blocked it falls back to
// polling everything every few seconds. Figures come from GraphQL (`lookupStats`,
// `lookupTimeline`, `alerts`, `alertHistory`) and the breaker and database state from GET
// /health. Charts are small hand-written SVG: nothing to download from anywhere but this server.
'use strict';

const REFRESH_MS = 5000; // polling, without the WebSocket
const LIVE_REFRESH_MS = 30000; // charts and /health while the figures are pushed
const LIVE_RETRY_MS = [2000, 5000, 15000, 30000]; // reconnecting, then every 30 s
const ACK_TIMEOUT_MS = 4000; // no connection_ack by then: WebSockets are blocked somewhere
const KEY_STORAGE = 'jobwizard.apiKey'; // shared with the wizard page (this tab only)
const WINDOW_MINUTES = 60;
const BUCKET_SECONDS = 60;
const BUSINESS_WINDOW_MINUTES = 24 * 60;

const DASHBOARD_QUERY = `
  query LookupDashboard($window: Int!, $bucket: Int!) {
    lookupStats(windowMinutes: $window) {
      windowMinutes total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
    }
    lookupTimeline(windowMinutes: $window, bucketSeconds: $bucket) {
      bucketStart total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
    }
    alerts { ...AlertFields }
    alertHistory(first: 20) { events { id name state severity value threshold createdAt } }
  }
  fragment AlertFields on Alert {
    name severity message value threshold since acknowledged acknowledgementNote silenced
    silencedUntil
  }`;

// Polled every REFRESH_MS even while the lookup figures are pushed: nothing pushes these.
const BUSINESS_QUERY = `
  query BusinessView($window: Int!) {
    businessStats(windowMinutes: $window, top: 10) {
      jobsPublished jobsRejected jobsCancelled jobsClosed jobsExpired
      rejectedFields { label count } uploadsRefused { label count }
      searchesWithoutMatch unmatchedSearches { label count }
      webhooksPending webhooksFailed webhookOldestPendingSeconds
    }
  }`;

const STATS_SUBSCRIPTION = `
  subscription LiveStats($window: Int!) {
    lookupStatsUpdated(windowMinutes: $window) {
      windowMinutes total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
    }
  }`;
const ALERTS_SUBSCRIPTION = `
  subscription LiveAlerts {
    alertsChanged {
      name severity message value threshold since acknowledged acknowledgementNote silenced
      silencedUntil
    }
  }`;
const HISTORY_QUERY = `
  query AlertHistory { alertHistory(first: 20) {
    events { id name state severity value threshold createdAt } } }`;
const ACKNOWLEDGE_MUTATION = `
  mutation Acknowledge($name: String!, $note: String!) {
    acknowledgeAlert(name: $name, note: $note) { name coversFiring } }`;
const SILENCE_MUTATION = `
  mutation Silence($name: String!, $until: DateTime!, $note: String!) {
    silenceAlert(name: $name, until: $until, note: $note) { name until } }`;

const COLOURS = { blue: '#1f6feb', orange: '#d4760a', green: '#1a7f37', red: '#c62828', purple: '#8250df' };

const $ = (id) => document.getElementById(id);

// The monitoring fields need an API key with the ops:read scope; the operator types it once
// and this browser keeps it.

// ---------------------------------------------------------------------------------------------
// Fetching

const apiKey = () => sessionStorage.getItem(KEY_STORAGE);

async function graphql(query, variables = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  // One key for the tab: the wizard page's, or the one entered here (ops:read to see the
  // figures, ops:write to acknowledge and silence).
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

async function fetchDashboard() {
  const body = await graphql(DASHBOARD_QUERY, { window: WINDOW_MINUTES, bucket: BUCKET_SECONDS });
  keyState.needed = false;
  if (body.errors && body.errors.length) {
    const message = body.errors.map((e) => e.message).join(' ');
    if (/Cannot query field/.test(message)) {
      throw new Error(`This server does not report lookup monitoring yet (${message})`);
    }
    const codes = body.errors.map((e) => e.extensions && e.extensions.code);
    if (codes.includes('UNAUTHENTICATED') || codes.includes('FORBIDDEN')) {
      keyState.needed = true;
      throw new Error(
        apiKey()
          ? `This key cannot read the dashboard: it needs the ops:read scope. (${message})`
          : 'The figures need an API key with the ops:read scope: enter one above.',
      );
    }
    throw new Error(message);
  }
  return body.data;
}

async function fetchHealth() {
  // 503 still carries the JSON document: "not ready" is exactly what the operator must see.
  const response = await fetch('/health', { headers: { Accept: 'application/json' } });
  return response.json();
}

/** Where /health reports the breaker: `breaker: "closed"` or `breaker: {state: "closed"}`. */
function breakerState(health) {
  const breaker = health.breaker ?? (health.lookup && health.lookup.breaker);
  if (typeof breaker === 'string') return breaker;
  if (breaker && typeof breaker === 'object' && typeof breaker.state === 'string') {
    return breaker.state;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const percent = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)} %`);
const millis = (ms) => (ms === null || ms === undefined ? '–' : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`);
const perSecond = (n) => (n === null || n === undefined ? '–' : `${n < 10 ? n.toFixed(2) : n.toFixed(1)} /s`);

// ---------------------------------------------------------------------------------------------
// Tiles and alerts

function tile(label, value, tone = '') {
  const node = el('div', { class: `tile ${tone}` });
  node.append(el('div', { class: 'label' }, label), el('div', { class: 'value' }, value));
  return node;
}

function renderTiles(stats, health) {
  const breaker = health ? breakerState(health) : null;
  const breakerTone = { closed: 'ok', open: 'bad', half_open: 'warn', 'half-open': 'warn' };
  const database = health && health.database ? health.database.reachable : null;
  $('tiles').replaceChildren(
    tile('Lookups', stats.total.toLocaleString()),
    tile('Events per second', perSecond(stats.total / (stats.windowMinutes * 60))),
    tile('Average latency', millis(stats.avgLatencyMs)),
    tile('p95 latency', millis(stats.p95LatencyMs)),
    tile('Success rate', percent(stats.successRate)),
    tile('Cache-hit rate', percent(stats.cacheHitRate)),
    tile('Fallback rate', percent(stats.fallbackRate)),
    tile('Circuit breaker', breaker || 'not reported', breakerTone[breaker] || ''),
    tile('Database', database === null ? '–' : database ? 'reachable' : 'unreachable',
      database === null ? '' : database ? 'ok' : 'bad'),
  );
}

const duration = (seconds) => {
  if (seconds === null || seconds === undefined) return 'none waiting';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
};

function topList(id, title, items, empty) {
  const section = el('section', { id, 'aria-labelledby': `${id}-title` });
  section.append(el('h3', { id: `${id}-title` }, title));
  if (items.length === 0) {
    section.append(el('p', { class: 'muted' }, empty));
    return section;
  }
  section.append(
    el('ol', {}, ...items.map((item) => el('li', {}, item.label, el('span', { class: 'count' }, `× ${item.count}`)))),
  );
  return section;
}

function renderBusiness(stats) {
  const count = (n) => n.toLocaleString();
  const refusedUploads = stats.uploadsRefused.reduce((sum, item) => sum + item.count, 0);
  const attempts = stats.jobsPublished + stats.jobsRejected;
  const rejectedShare = attempts === 0 ? null : stats.jobsRejected / attempts;
  $('business-tiles').replaceChildren(
    tile('Jobs published', count(stats.jobsPublished)),
    tile('Publishes refused', `${count(stats.jobsRejected)} (${percent(rejectedShare)})`,
      rejectedShare !== null && rejectedShare > 0.5 ? 'bad' : ''),
    tile('Jobs cancelled', count(stats.jobsCancelled)),
    tile('Jobs closed', count(stats.jobsClosed)),
    tile('Jobs expired', count(stats.jobsExpired)),
    tile('Uploads refused', count(refusedUploads)),
    tile('Searches without a match', count(stats.searchesWithoutMatch)),
    tile('Webhooks waiting', count(stats.webhooksPending), stats.webhooksPending > 0 ? 'warn' : ''),
    tile('Oldest waiting webhook', duration(stats.webhookOldestPendingSeconds),
      stats.webhookOldestPendingSeconds > 900 ? 'bad' : ''),
    tile('Webhooks given up', count(stats.webhooksFailed), stats.webhooksFailed > 0 ? 'bad' : ''),
  );
  $('business-lists').replaceChildren(
    topList('rejected-fields', 'Fields at fault in refused publishes', stats.rejectedFields, 'No publish was refused.'),
    topList('uploads-refused', 'Uploads refused, by reason', stats.uploadsRefused, 'No upload was refused.'),
    topList('unmatched-searches', 'Searches that matched nothing', stats.unmatchedSearches, 'Every search found something.'),
  );
}

/** What the figures' places say while there are none to show: the key they need. */
function renderNeedsKey(message) {
  const placeholder = () => el('li', { class: 'none' }, message);
  $('alerts').replaceChildren(placeholder());
  $('history').replaceChildren(placeholder());
  $('business-tiles').replaceChildren();
  $('business-lists').replaceChildren(el('p', { class: 'muted' }, message));
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function renderAlerts(alerts) {
  const list = $('alerts');
  if (alerts.length === 0) {
    list.replaceChildren(el('li', { class: 'none' }, 'No alert is firing.'));
    return;
  }
  const canManage = Boolean(apiKey());
  list.replaceChildren(
    ...alerts.map((alert) => {
      const item = el('li', { class: alert.severity });
      item.dataset.name = alert.name;
      item.append(el('strong', {}, `${alert.severity} · ${alert.name}`), ` — ${alert.message}`);
      if (alert.since) item.append(el('span', { class: 'mark since' }, `since ${clock(alert.since)}`));
      if (alert.acknowledged) {
        const note = alert.acknowledgementNote ? `: ${alert.acknowledgementNote}` : '';
        item.append(el('span', { class: 'mark acknowledged' }, `acknowledged${note}`));
      }
      if (alert.silenced) {
        item.append(el('span', { class: 'mark silenced' }, `silenced until ${clock(alert.silencedUntil)}`));
      }
      if (canManage) {
        const actions = el('span', { class: 'actions' });
        if (!alert.acknowledged) actions.append(actionButton('Acknowledge', 'acknowledge', alert.name));
        if (!alert.silenced) actions.append(actionButton('Silence 1 h', 'silence', alert.name));
        item.append(actions);
      }
      return item;
    }),
  );
}

function actionButton(label, action, name) {
  const button = el('button', { type: 'button', class: action });
  button.textContent = label;
  button.addEventListener('click', () => manageAlert(action, name, button));
  return button;
}

async function manageAlert(action, name, button) {
  button.disabled = true;
  const note = $('alert-note').value;
  const body =
    action === 'acknowledge'
      ? await graphql(ACKNOWLEDGE_MUTATION, { name, note })
      : await graphql(SILENCE_MUTATION, { name, note, until: new Date(Date.now() + 3600000).toISOString() });
  if (body.errors && body.errors.length) {
    $('ops-status').textContent = `${name}: ${body.errors[0].message}`;
    button.disabled = false;
    return;
  }
  $('ops-status').textContent = action === 'acknowledge' ? `${name} acknowledged` : `${name} silenced for 1 h`;
  // Live, the change is pushed to every dashboard; without the WebSocket, read it back now.
  if (!isLive()) await refresh();
  await refreshHistory();
}

function renderHistory(page) {
  const list = $('history');
  if (!page || page.events.length === 0) {
    list.replaceChildren(el('li', { class: 'none' }, 'No alert has fired yet.'));
    return;
  }
  list.replaceChildren(
    ...page.events.map((event) => {
      const figures = event.value === null ? '' : ` (value ${+event.value.toFixed(4)}, threshold ${event.threshold})`;
      const item = el('li', { class: event.state });
      item.dataset.id = event.id;
      item.append(`${new Date(event.createdAt).toLocaleTimeString()} · ${event.state} · ${event.name}${figures}`);
      return item;
    }),
  );
}

async function refreshHistory() {
  const body = await graphql(HISTORY_QUERY);
  if (body.data) renderHistory(body.data.alertHistory);
}

function setUpKeyForm() {
  const showKeyState = () => {
    $('forget-key').hidden = !apiKey();
    $('ops-status').textContent = apiKey() ? 'Key in use for this tab.' : '';
  };
  const useKey = (key) => {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    $('api-key').value = key;
    showKeyState();
    if (lastAlerts) renderAlerts(lastAlerts);
    // The live connection carries the key from its start: open it again with the new one.
    if (liveSocket) liveSocket.close();
    refreshBusiness().catch(() => {});
    refresh().catch((err) => {
      $('problem').textContent = err.message;
      $('problem').hidden = false;
    });
  };
  $('api-key').value = apiKey() || '';
  $('api-key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    useKey($('api-key').value.trim());
  });
  $('forget-key').addEventListener('click', () => useKey(''));
  showKeyState();
}

// ---------------------------------------------------------------------------------------------
// Live: graphql-transport-ws over a WebSocket. The protocol's client side is a few messages
// (connection_init, subscribe, ping/pong); written here rather than bundling a client library.

// `connected`: the server acknowledged the connection; `refused`: it refused the subscriptions
// (no key, or one without ops:read): the page then polls, and never says "live".
const liveState = { connected: false, refused: false, attempts: 0 };
const keyState = { needed: false };
const isLive = () => liveState.connected && !liveState.refused;
let lastStats = null;
let lastHealth = null;
let lastAlerts = null;
let lastTimeline = null;

let liveSocket = null; // the open live connection, closed to reconnect with a new key

function connectLive() {
  if (typeof WebSocket !== 'function') return;
  let socket;
  try {
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`, 'graphql-transport-ws');
  } catch (err) {
    return;
  }
  liveSocket = socket;
  const send = (message) => socket.send(JSON.stringify(message));
  const ackTimer = setTimeout(() => socket.close(), ACK_TIMEOUT_MS);
  socket.addEventListener('open', () => {
    const key = apiKey();
    send({ type: 'connection_init', payload: key ? { Authorization: `Bearer ${key}` } : {} });
  });
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'connection_ack') {
      clearTimeout(ackTimer);
      liveState.connected = true;
      liveState.refused = false;
      liveState.attempts = 0;
      send({ id: 'stats', type: 'subscribe', payload: { query: STATS_SUBSCRIPTION, variables: { window: WINDOW_MINUTES } } });
      send({ id: 'alerts', type: 'subscribe', payload: { query: ALERTS_SUBSCRIPTION } });
      showUpdated();
    } else if (message.type === 'error') {
      // A refused subscription ends with this one message (graphql-transport-ws): no `next`,
      // no `complete`. The figures are polled instead, which says what is missing.
      liveState.refused = true;
      showUpdated();
    } else if (message.type === 'ping') {
      send({ type: 'pong' });
    } else if (message.type === 'next' && message.payload.data) {
      if (message.id === 'stats') {
        lastStats = message.payload.data.lookupStatsUpdated;
        renderTiles(lastStats, lastHealth);
      } else if (message.id === 'alerts') {
        lastAlerts = message.payload.data.alertsChanged;
        renderAlerts(lastAlerts);
        refreshHistory();
      }
      showUpdated();
    }
  });
  socket.addEventListener('close', () => {
    clearTimeout(ackTimer);
    liveState.connected = false;
    showUpdated();
    const delay = LIVE_RETRY_MS[Math.min(liveState.attempts, LIVE_RETRY_MS.length - 1)];
    liveState.attempts += 1;
    setTimeout(connectLive, delay);
  });
}

function showUpdated() {
  if (keyState.needed) {
    $('updated').dataset.mode = 'waiting';
    $('updated').textContent = 'Waiting for an API key with the ops:read scope';
    return;
  }
  const mode = isLive() ? 'live' : `polling every ${REFRESH_MS / 1000} s`;
  $('updated').dataset.mode = isLive() ? 'live' : 'polling';
  $('updated').textContent = `Updated ${new Date().toLocaleTimeString()} · ${mode}`;
}

// ---------------------------------------------------------------------------------------------
// Charts: one SVG line chart per figure, x = the last hour, gaps where a minute had no lookups

// In viewBox units; a narrower box on a phone keeps the axis labels legible once scaled.
const chartBox = () => ({
  width: window.innerWidth < 600 ? 420 : 640,
  height: 220,
  left: 62,
  right: 14,
  top: 12,
  bottom: 26,
});

/**
 * series: [{ label, colour, points: [{ t: Date, v: number|null }] }]
 * yMax: the top of the y axis (null: from the data); format(value, decimals): the label of a
 * y value, written with the given decimals.
 */
function lineChart({ id, title, series, yMax, format, from, to }) {
  const { width, height, left, right, top, bottom } = chartBox();
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => v !== null);
  const step = yMax !== null ? yMax / Y_TICKS : niceStep(Math.max(0, ...values) / Y_TICKS);
  const max = step * Y_TICKS;
  const decimals = stepDecimals(step);
  const x = (t) => left + ((t - from) / (to - from)) * plotW;
  const y = (v) => top + plotH - (max === 0 ? 0 : (v / max) * plotH);

  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title });
  // Horizontal grid lines with their values, and the time axis.
  for (let i = 0; i <= Y_TICKS; i += 1) {
    const value = step * i;
    svg.append(svgEl('line', { class: 'axis', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    const label = svgEl('text', { class: 'axis-label', x: left - 6, y: y(value) + 4, 'text-anchor': 'end' });
    label.textContent = format(value, decimals);
    svg.append(label);
  }
  for (let minutesAgo = WINDOW_MINUTES; minutesAgo >= 0; minutesAgo -= 15) {
    const t = to - minutesAgo * 60000;
    const label = svgEl('text', { class: 'axis-label', x: x(t), y: height - 6, 'text-anchor': 'middle' });
    label.textContent = minutesAgo === 0 ? 'now' : `−${minutesAgo} min`;
    svg.append(label);
  }

  let drawn = 0;
  for (const s of series) {
    // A minute without lookups (a null, or no bucket at all) breaks the line rather than
    // drawing it at zero or bridging the gap.
    let d = '';
    let penDown = false;
    let previous = null;
    for (const point of s.points) {
      if (point.v === null || point.t < from) {
        penDown = false;
        continue;
      }
      if (previous !== null && point.t - previous > 1.5 * BUCKET_SECONDS * 1000) penDown = false;
      previous = point.t;
      d += `${penDown ? 'L' : 'M'}${x(point.t).toFixed(1)},${y(point.v).toFixed(1)} `;
      penDown = true;
      drawn += 1;
    }
    svg.append(svgEl('path', { class: 'series', d: d.trim(), stroke: s.colour }));
    // Dots too: a minute between two gaps would otherwise be an invisible zero-length line.
    for (const point of s.points) {
      if (point.v !== null && point.t >= from) {
        svg.append(svgEl('circle', { cx: x(point.t), cy: y(point.v), r: 2.2, fill: s.colour }));
      }
    }
  }
  if (drawn === 0) {
    const empty = svgEl('text', { class: 'no-data', x: left + plotW / 2, y: top + plotH / 2, 'text-anchor': 'middle' });
    empty.textContent = 'No lookups in the last hour';
    svg.append(empty);
  }

  const legend = el('div', { class: 'legend' });
  for (const s of series) {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = s.colour;
    legend.append(el('span', {}, swatch, s.label));
  }
  const figure = el('figure', { class: 'chart', id });
  figure.dataset.points = String(drawn);
  figure.append(el('h3', {}, title), svg, legend);
  return figure;
}

const Y_TICKS = 4; // intervals on the y axis

/** 1, 2, 2.5 or 5 x 10^n at or above `value`: a round step between the y axis's labels. */
function niceStep(value) {
  if (!(value > 0)) return 0.25; // no data: 0 to 1
  const power = 10 ** Math.floor(Math.log10(value));
  for (const mantissa of [1, 2, 2.5, 5]) {
    if (value <= mantissa * power * (1 + 1e-9)) return mantissa * power;
  }
  return 10 * power;
}

/** The fewest decimals that write every multiple of `step` exactly: labels a step apart then
 * always differ, however small the values (0.005, 0.010, 0.015 rather than 0, 0, 0). */
function stepDecimals(step) {
  for (let decimals = 0; decimals < 15; decimals += 1) {
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * scaled) return decimals;
  }
  return 15;
}

function renderCharts(timeline) {
  const to = Date.now();
  const from = to - WINDOW_MINUTES * 60000;
  const buckets = timeline.map((b) => ({ ...b, t: Date.parse(b.bucketStart) }));
  const pick = (field, scale = 1) =>
    buckets.map((b) => ({ t: b.t, v: b[field] === null || b[field] === undefined ? null : b[field] * scale }));

  $('charts').replaceChildren(
    lineChart({
      id: 'chart-latency',
      title: 'Lookup latency',
      series: [
        { label: 'average', colour: COLOURS.blue, points: pick('avgLatencyMs') },
        { label: 'p95', colour: COLOURS.orange, points: pick('p95LatencyMs') },
      ],
      yMax: null,
      format: (v, decimals) => `${v.toFixed(decimals)} ms`,
      from,
      to,
    }),
    lineChart({
      id: 'chart-events',
      title: 'Lookup events per second',
      series: [
        {
          label: `per second (${BUCKET_SECONDS} s buckets)`,
          colour: COLOURS.purple,
          points: buckets.map((b) => ({ t: b.t, v: b.total / BUCKET_SECONDS })),
        },
      ],
      yMax: null,
      format: (v, decimals) => v.toFixed(decimals),
      from,
      to,
    }),
    lineChart({
      id: 'chart-success',
      title: 'Success rate',
      series: [{ label: 'success', colour: COLOURS.green, points: pick('successRate', 100) }],
      yMax: 100,
      format: (v, decimals) => `${v.toFixed(decimals)} %`,
      from,
      to,
    }),
    lineChart({
      id: 'chart-cache',
      title: 'Cache hits and fallbacks',
      series: [
        { label: 'cache-hit rate', colour: COLOURS.blue, points: pick('cacheHitRate', 100) },
        { label: 'fallback rate', colour: COLOURS.red, points: pick('fallbackRate', 100) },
      ],
      yMax: 100,
      format: (v, decimals) => `${v.toFixed(decimals)} %`,
      from,
      to,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The refresh loop

async function refresh() {
  const [dashboard, health] = await Promise.allSettled([fetchDashboard(), fetchHealth()]);
  const problems = [];
  const healthDoc = health.status === 'fulfilled' ? health.value : null;
  if (!healthDoc) problems.push(`/health: ${health.reason.message}`);
  lastHealth = healthDoc;
  if (dashboard.status === 'fulfilled') {
    const data = dashboard.value;
    // While live, pushed figures are at least as fresh as these.
    if (!isLive() || !lastStats) lastStats = data.lookupStats;
    if (!isLive() || !lastAlerts) lastAlerts = data.alerts;
    renderTiles(lastStats, healthDoc);
    renderAlerts(lastAlerts);
    lastTimeline = data.lookupTimeline;
    renderCharts(lastTimeline);
    renderHistory(data.alertHistory);
  } else {
    problems.push(dashboard.reason.message);
    if (keyState.needed) renderNeedsKey('Needs an API key with the ops:read scope.');
  }
  const box = $('problem');
  box.textContent = problems.join(' · ');
  box.hidden = problems.length === 0;
  showUpdated();
}

/** The business view alone; its faults (a missing key) are the main refresh's to report. */
async function refreshBusiness() {
  if (keyState.needed && !apiKey()) return;
  const body = await graphql(BUSINESS_QUERY, { window: BUSINESS_WINDOW_MINUTES });
  if (body.data && body.data.businessStats) renderBusiness(body.data.businessStats);
}

async function businessLoop() {
  if (!document.hidden) {
    try {
      await refreshBusiness();
    } catch (err) {
      // The main refresh shows what is wrong with the server or the key.
    }
  }
  setTimeout(businessLoop, REFRESH_MS);
}

async function loop() {
  // Skip the work while the tab is hidden; catch up as soon as it is shown again.
  if (!document.hidden) {
    try {
      await refresh();
    } catch (err) {
      $('problem').textContent = err.message;
      $('problem').hidden = false;
    }
  }
  setTimeout(loop, isLive() ? LIVE_REFRESH_MS : REFRESH_MS);
}

// ---------------------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svgEl(tag, attributes = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refresh();
});
// Charts are drawn for the screen's width: redraw them when it changes, not at the next poll.
window.addEventListener('resize', () => {
  if (lastTimeline) renderCharts(lastTimeline);
});
document.addEventListener('DOMContentLoaded', () => {
  setUpKeyForm();
  loop();
  businessLoop();
  connectLive();
});
