/* global document, window, EventSource, fetch, uPlot */
// The tick-replay dashboard: the JSON snapshot from GET /api/snapshot renders the page at once,
// then snapshots pushed by GET /events (server-sent events, one a second) update the numbers and
// the charts in place; the buttons POST to /api/mode, which the dashboard server proxies to the
// real mode API. (GET /metrics is the Prometheus text for scrapers, not read here.) Plain browser
// JavaScript, no build step.
'use strict';

const HISTORY = 120; // points kept per chart (two minutes at one snapshot a second)
const $ = (id) => document.getElementById(id);
const setText = (id, value) => {
  $(id).textContent = String(value);
};

function chartWidth(element) {
  return Math.max(240, element.clientWidth - 4);
}

function makeChart(element, series, height) {
  const opts = {
    width: chartWidth(element),
    height,
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5 }))],
    axes: [{}, { size: 60 }],
    legend: { live: false },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], element);
}

const palette = ['#2b6cb0', '#2f855a', '#c05621', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568'];

const throughput = { element: $('chart-throughput'), x: [], historical: [], live: [], lines: [], chart: undefined };
throughput.chart = makeChart(
  throughput.element,
  [
    { label: 'historical quotes/s', stroke: palette[0] },
    { label: 'live quotes/s', stroke: palette[1] },
    { label: 'lines/s written', stroke: palette[2] },
  ],
  200,
);

const lag = { element: $('chart-lag'), x: [], shards: [], values: new Map(), chart: undefined };
const mids = new Map(); // ticker -> { element, chart }

function push(array, value) {
  array.push(value);
  if (array.length > HISTORY) array.shift();
}

function updateThroughput(s, t) {
  push(throughput.x, t);
  push(throughput.historical, s.rates.historical);
  push(throughput.live, s.rates.live);
  push(throughput.lines, s.rates.linesWritten);
  throughput.chart.setData([throughput.x, throughput.historical, throughput.live, throughput.lines]);
  throughput.element.dataset.points = String(throughput.x.length);
}

function updateLag(s, t) {
  const shards = Object.keys(s.consumer.lagMs).sort();
  for (const shard of shards) if (!lag.shards.includes(shard)) lag.shards.push(shard);
  lag.shards.sort();
  push(lag.x, t);
  for (const shard of lag.shards) {
    const values = lag.values.get(shard) ?? new Array(lag.x.length - 1).fill(null);
    push(values, s.consumer.lagMs[shard] ?? null);
    while (values.length > lag.x.length) values.shift();
    lag.values.set(shard, values);
  }
  const seriesCount = lag.chart === undefined ? -1 : lag.chart.series.length - 1;
  if (seriesCount !== lag.shards.length) {
    lag.chart?.destroy();
    lag.chart = makeChart(
      lag.element,
      lag.shards.map((shard, i) => ({ label: shard.replace('shardId-', 'shard '), stroke: palette[i % palette.length] })),
      180,
    );
  }
  lag.chart.setData([lag.x, ...lag.shards.map((shard) => lag.values.get(shard))]);
  lag.element.dataset.points = String(lag.x.length);
}

function updateMids(s) {
  for (const [ticker, points] of Object.entries(s.mids)) {
    let entry = mids.get(ticker);
    if (entry === undefined) {
      const box = document.createElement('div');
      box.className = 'mid-chart';
      box.dataset.ticker = ticker;
      const title = document.createElement('div');
      title.className = 'dim';
      title.textContent = ticker;
      const element = document.createElement('div');
      box.append(title, element);
      $('mids').append(box);
      entry = { box, title, chart: makeChart(element, [{ label: `${ticker} mid`, stroke: palette[mids.size % palette.length] }], 150) };
      mids.set(ticker, entry);
    }
    entry.chart.setData([points.map((p) => p[0]), points.map((p) => p[1])]);
    const last = points[points.length - 1];
    entry.box.dataset.points = String(points.length);
    entry.box.dataset.lastTime = last === undefined ? '' : String(last[0]);
    entry.title.textContent = last === undefined ? ticker : `${ticker}  ${last[1]}  (${new Date(last[0] * 1000).toISOString().slice(11, 23)})`;
  }
}

function formatEta(seconds) {
  if (seconds === undefined || seconds === null) return '–';
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

let snapshots = 0;
function render(s) {
  snapshots++;
  document.body.dataset.snapshots = String(snapshots);
  const t = Date.parse(s.at) / 1000;
  const mode = $('mode');
  mode.textContent = s.mode ?? 'starting';
  mode.className = s.mode ?? '';
  setText('version', s.appliedVersion === undefined ? '' : `(control version ${s.appliedVersion})`);
  const h = s.historical;
  $('progress-bar').max = Math.max(h.total, 1);
  $('progress-bar').value = h.done;
  setText('done', h.done);
  setText('total', h.total);
  setText('percent', h.total > 0 ? Math.floor((h.done * 100) / h.total) : 0);
  setText('eta', h.completed ? 'done' : s.mode === 'historical' ? formatEta(h.etaSeconds) : 'paused (live)');
  setText('rejected', h.rejected + s.live.rejected);
  setText('rate-historical', s.rates.historical);
  setText('rate-live', s.rates.live);
  setText('rate-lines', s.rates.linesWritten);
  setText('lag-max', s.consumer.maxLagMs ?? '–');
  setText('mid-lines', s.consumer.midLines);
  setText('error-lines', s.consumer.errorLines);
  setText('dead-letters', s.consumer.deadLetters);
  setText('retries', s.producer.retriedRequests);
  setText('retried-entries', s.producer.retriedEntries);
  setText('in-flight', s.producer.inFlightBatches);
  setText('live-connection', s.live.connection);
  setText('live-received', s.live.received);
  setText('live-reconnects', s.live.reconnects);
  if (!s.consumer.inProcess) setText('mid-lines', 'in worker processes');
  $('errors').textContent = s.errors.length === 0 ? '(none yet)' : s.errors.join('\n');
  updateThroughput(s, t);
  updateLag(s, t);
  updateMids(s);
}

async function requestMode(button) {
  const body = { mode: button.dataset.mode };
  if (button.dataset.from !== undefined) body.from = button.dataset.from;
  setText('request', `requesting ${button.textContent}…`);
  try {
    // The custom header tells the server this is the dashboard's own page (see dashboard-server.ts).
    const headers = { 'content-type': 'application/json', 'x-tick-replay-client': 'dashboard' };
    const response = await fetch('/api/mode', { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = await response.json();
    setText('request', response.ok ? `requested ${answer.mode}${answer.fromStart ? ' from start' : ''} (version ${answer.version})` : `refused: ${answer.message ?? response.status}`);
  } catch (error) {
    setText('request', `mode API not reachable: ${error}`);
  }
}

for (const button of document.querySelectorAll('button[data-mode]')) button.addEventListener('click', () => void requestMode(button));

// The first render does not wait for the first push; a push that came first wins (a later render
// of the older snapshot would step the charts back in time).
fetch('/api/snapshot', { cache: 'no-store' })
  .then((response) => (response.ok ? response.json() : undefined))
  .then((s) => {
    if (s !== undefined && snapshots === 0) render(s);
  })
  .catch(() => setText('connection', 'dashboard server not reachable'));

const events = new EventSource('/events');
events.onopen = () => setText('connection', 'live updates');
events.onerror = () => setText('connection', 'disconnected; retrying…');
events.onmessage = (message) => render(JSON.parse(message.data));

window.addEventListener('resize', () => {
  for (const chart of [throughput.chart, lag.chart, ...[...mids.values()].map((m) => m.chart)]) {
    if (chart !== undefined) chart.setSize({ width: chartWidth(chart.root.parentElement), height: chart.height });
  }
});
