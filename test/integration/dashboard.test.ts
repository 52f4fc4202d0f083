/**
 * The dashboard in a real (headless) browser against a real `tick-replay up`: Debian's Chromium
 * driven by playwright-core (no browser download). Clicking "live" and "historical" goes through
 * the dashboard's /api/mode proxy to the real mode API; the page's numbers and charts must move,
 * the historical replay must resume past where it paused, and the page must agree with GET /mode.
 * The screenshot is kept in test-artifacts/dashboard.png; UPDATE_DOCS_SCREENSHOT=1 also copies it
 * to docs/dashboard.png (docs/dashboard.md shows it).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DashboardSnapshot } from '../../lib/dashboard/stack-metrics.ts';
import { waitUntil } from '../support/processes.ts';
import { parseExposition } from '../support/prometheus-text.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startUpProcess, type UpProcess } from '../support/up-process.ts';

const CHROMIUM = '/usr/bin/chromium';

interface ModeAnswer {
  mode: string;
  version: number;
  status: { mode: string; appliedVersion: number; historical: { done: number; total: number }; live: { received: number } } | null;
}

function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  return waitUntil(what, () => check().catch(() => false), ms);
}

async function number(page: Page, selector: string): Promise<number> {
  const text = (await page.textContent(selector)) ?? '';
  const value = Number(text);
  assert.ok(Number.isFinite(value), `${selector} shows a number, got "${text}"`);
  return value;
}

async function attribute(page: Page, selector: string, name: string): Promise<number> {
  return Number((await page.getAttribute(selector, name)) ?? 'NaN');
}

describe('dashboard', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it as root)` }, () => {
  let tmp: TempDir;
  let up: UpProcess | undefined;
  let browser: Browser | undefined;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await browser?.close();
    up?.kill();
    await tmp.remove();
  });

  it('flips modes from the browser and shows progress, throughput and mids moving, in line with GET /mode', { timeout: 90_000 }, async (t) => {
    const started = Date.now();
    up = startUpProcess({ outDir: tmp.join('out'), stateDir: tmp.join('state'), speed: '2' });
    const { apiUrl, dashboardUrl } = await up.ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    await page.goto(`${dashboardUrl}/`);
    assert.equal(await page.title(), 'tick-replay dashboard');

    await until('historical progress on the page', async () => (await page.textContent('#mode')) === 'historical' && (await number(page, '#done')) > 0);
    assert.equal(await number(page, '#total'), 6_000);
    // The dashboard reaches the mode API through its own origin's proxy.
    await until('the mode API through the proxy', async () => (await fetch(`${dashboardUrl}/api/mode`)).ok);

    const doneBeforeLive = await number(page, '#done');
    await page.click('#btn-live');
    await until('live mode on the page', async () => (await page.textContent('#mode')) === 'live', 20_000);
    assert.match((await page.textContent('#request')) ?? '', /requested live \(version 1\)/);
    const received = await number(page, '#live-received');
    const points = await attribute(page, '#chart-throughput', 'data-points');
    const midLines = await number(page, '#mid-lines');
    const lastMid = await attribute(page, '.mid-chart[data-ticker="AAPL"]', 'data-last-time');
    await until('live quotes, chart points and mids moving', async () => {
      return (
        (await number(page, '#live-received')) > received + 20 &&
        (await attribute(page, '#chart-throughput', 'data-points')) > points + 1 &&
        (await number(page, '#mid-lines')) > midLines &&
        (await number(page, '#rate-live')) > 0 &&
        // Live quotes are stamped after the historical file's last minute: the AAPL chart moves on.
        (await attribute(page, '.mid-chart[data-ticker="AAPL"]', 'data-last-time')) > lastMid
      );
    });
    const doneWhileLive = await number(page, '#done');
    assert.ok(doneWhileLive >= doneBeforeLive, 'what was done stays done');

    await page.click('#btn-historical');
    await until('historical resumed past where it paused', async () => (await page.textContent('#mode')) === 'historical' && (await number(page, '#done')) > doneWhileLive, 20_000);
    assert.ok((await number(page, '#done')) < 6_000, 'resumed, not restarted or finished');

    // The page, GET /api/snapshot and the mode API agree (the status item is written every second).
    await until('a status with the applied version', async () => ((await (await fetch(`${apiUrl}/mode`)).json()) as ModeAnswer).status?.appliedVersion === 2);
    const [answer, metrics, exposition] = await Promise.all([
      fetch(`${apiUrl}/mode`).then(async (r) => (await r.json()) as ModeAnswer),
      fetch(`${dashboardUrl}/api/snapshot`).then(async (r) => (await r.json()) as DashboardSnapshot),
      fetch(`${dashboardUrl}/metrics`).then(async (r) => ({ type: r.headers.get('content-type'), families: parseExposition(await r.text()) })),
    ]);
    assert.equal(answer.mode, 'historical');
    assert.equal(answer.version, 2);
    assert.equal(metrics.mode, answer.status?.mode);
    assert.equal(metrics.appliedVersion, answer.status?.appliedVersion);
    assert.equal(metrics.historical.total, answer.status?.historical.total);
    // Within two seconds of replay at speed 2 (about 100 quotes/s) of each other.
    assert.ok(Math.abs(metrics.historical.done - (answer.status?.historical.done ?? -1)) <= 300, `metrics ${metrics.historical.done} vs status ${answer.status?.historical.done}`);
    assert.equal(metrics.live.received, answer.status?.live.received, 'live quotes received agree (live is closed now)');
    await until('the page shows the applied version', async () => ((await page.textContent('#version')) ?? '').includes('control version 2'));

    // GET /metrics: Prometheus text in which the real handler timed its batches and the live
    // quotes' delivery (arrival off the feed socket → mid line written).
    assert.equal(exposition.type, 'text/plain; version=0.0.4; charset=utf-8');
    const samples = exposition.families.flatMap((f) => f.samples);
    const sample = (name: string, labels: Record<string, string> = {}): number =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value ?? Number.NaN;
    assert.equal(sample('historical_quotes'), 6_000);
    assert.ok(sample('handler_batch_duration_seconds_count') > 0, 'batches timed');
    const delivered = sample('delivery_latency_seconds_count', { mode: 'live' });
    assert.ok(delivered > 20, `live quotes' delivery timed (${delivered})`);
    t.diagnostic(
      `live delivery: ${delivered} quotes, mean ${((sample('delivery_latency_seconds_sum', { mode: 'live' }) / delivered) * 1000).toFixed(1)} ms, ` +
        `${sample('delivery_latency_seconds_bucket', { mode: 'live', le: '0.1' })} within 100 ms`,
    );

    // Kept after the test (test-artifacts/ is git-ignored); the temp directory is not.
    await mkdir('test-artifacts', { recursive: true });
    const shot = 'test-artifacts/dashboard.png';
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') await copyFile(shot, 'docs/dashboard.png');

    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0, up.stderr().slice(-3000));
    t.diagnostic(`dashboard test: ${((Date.now() - started) / 1000).toFixed(1)} s, screenshot ${shot}`);
  });
});
