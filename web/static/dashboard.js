// Lookup dashboard: the last hour of slug -> UUID lookups, from the API itself, redrawn every
// few seconds. Figures come from GraphQL (`lookupStats`, `lookupTimeline`, `alerts`) and the
// breaker and database state from GET /health. Charts are small hand-written SVG: nothing to
// download from anywhere but this server.
'use strict';

const REFRESH_MS = 5000;
const WINDOW_MINUTES = 60;
const BUCKET_SECONDS = 60;

const DASHBOARD_QUERY = `
  query LookupDashboard($window: Int!, $bucket: Int!) {
    lookupStats(windowMinutes: $window) {
      windowMinutes total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
    }
    lookupTimeline(windowMinutes: $window, bucketSeconds: $bucket) {
      bucketStart total avgLatencyMs p95LatencyMs successRate fallbackRate cacheHitRate
    }
    alerts { name severity message value threshold }
  }`;

const COLOURS = { blue: '#1f6feb', orange: '#d4760a', green: '#1a7f37', red: '#c62828', purple: '#8250df' };

const $ = (id) => document.getElementById(id);

// The monitoring fields need an API key with the ops:read scope; the operator types it once
// and this browser keeps it.
const API_KEY_STORAGE = 'jobwizard.apiKey';
const storedKey = () => localStorage.getItem(API_KEY_STORAGE) || '';

// ---------------------------------------------------------------------------------------------
// Fetching

async function fetchDashboard() {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const key = storedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch('/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({
      query: DASHBOARD_QUERY,
      variables: { window: WINDOW_MINUTES, bucket: BUCKET_SECONDS },
    }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const message = body.errors.map((e) => e.message).join(' ');
    if (/Cannot query field/.test(message)) {
      throw new Error(`This server does not report lookup monitoring yet (${message})`);
    }
    const codes = body.errors.map((e) => e.extensions && e.extensions.code);
    if (codes.includes('UNAUTHENTICATED') || codes.includes('FORBIDDEN')) {
      throw new Error(`Enter an API key with the ops:read scope above. (${message})`);
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

function renderAlerts(alerts) {
  const list = $('alerts');
  if (alerts.length === 0) {
    list.replaceChildren(el('li', { class: 'none' }, 'No alert is firing.'));
    return;
  }
  list.replaceChildren(
    ...alerts.map((alert) => {
      const item = el('li', { class: alert.severity });
      item.dataset.name = alert.name;
      item.append(el('strong', {}, `${alert.severity} · ${alert.name}`), ` — ${alert.message}`);
      return item;
    }),
  );
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
 * yMax: the top of the y axis (null: from the data); format: label text for a y value.
 */
function lineChart({ id, title, series, yMax, format, from, to }) {
  const { width, height, left, right, top, bottom } = chartBox();
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => v !== null);
  const max = yMax ?? niceCeiling(Math.max(0, ...values));
  const x = (t) => left + ((t - from) / (to - from)) * plotW;
  const y = (v) => top + plotH - (max === 0 ? 0 : (v / max) * plotH);

  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title });
  // Horizontal grid lines with their values, and the time axis.
  for (let i = 0; i <= 4; i += 1) {
    const value = (max * i) / 4;
    svg.append(svgEl('line', { class: 'axis', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    const label = svgEl('text', { class: 'axis-label', x: left - 6, y: y(value) + 4, 'text-anchor': 'end' });
    label.textContent = format(value);
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

/** 1, 2, 5 x 10^n at or above `value`, so axis labels stay round. */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
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
      format: (v) => `${+v.toFixed(1)} ms`,
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
      format: (v) => `${+v.toFixed(2)}`,
      from,
      to,
    }),
    lineChart({
      id: 'chart-success',
      title: 'Success rate',
      series: [{ label: 'success', colour: COLOURS.green, points: pick('successRate', 100) }],
      yMax: 100,
      format: (v) => `${v} %`,
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
      format: (v) => `${v} %`,
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
  if (dashboard.status === 'fulfilled') {
    const data = dashboard.value;
    renderTiles(data.lookupStats, healthDoc);
    renderAlerts(data.alerts);
    renderCharts(data.lookupTimeline);
  } else {
    problems.push(dashboard.reason.message);
  }
  const box = $('problem');
  box.textContent = problems.join(' · ');
  box.hidden = problems.length === 0;
  $('updated').textContent = `Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
}

function setUpKeyForm() {
  const input = $('api-key');
  input.value = storedKey();
  $('api-key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key) localStorage.setItem(API_KEY_STORAGE, key);
    else localStorage.removeItem(API_KEY_STORAGE);
    refresh().catch((err) => {
      $('problem').textContent = err.message;
      $('problem').hidden = false;
    });
  });
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
  setTimeout(loop, REFRESH_MS);
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
document.addEventListener('DOMContentLoaded', () => {
  setUpKeyForm();
  loop();
});
