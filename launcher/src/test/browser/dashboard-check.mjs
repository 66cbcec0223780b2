// Drives the gateway's dashboard in Debian's headless Chromium (playwright-core, no browser download)
// for launcher's DashboardTest, which prepares the jobs, runs this, and asserts on what it prints:
// one JSON line per scenario, {"scenario": "...", "ok": true|false, ...observations}.
//
//   node dashboard-check.mjs <baseUrl> <apiKey> <seedJobId> <deadJobId> <idleQueue> <screenshotDir>
//
// seedJobId: a finished job the list must show; deadJobId: a job in the dead-letter queue that succeeds
// when requeued; idleQueue: a queue no worker reads, holding a pending job. The key is never printed.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [baseUrl, apiKey, seedJobId, deadJobId, idleQueue, screenshotDir] = process.argv.slice(2);
if (!screenshotDir) {
  console.error('usage: node dashboard-check.mjs <baseUrl> <apiKey> <seedJobId> <deadJobId> <idleQueue> <screenshotDir>');
  process.exit(2);
}
const CHROMIUM = process.env.SPOOL_CHROMIUM || '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps calling out, which this network refuses.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const WAIT_MILLIS = 20_000;

const results = [];
const shot = (page, name) => page.screenshot({ path: path.join(screenshotDir, name), fullPage: true });

/** Runs one scenario; a failure is reported (with a screenshot) and the others still run. */
async function scenario(name, page, body) {
  try {
    const observed = await body();
    results.push({ scenario: name, ok: true, ...observed });
  } catch (e) {
    results.push({ scenario: name, ok: false, error: String(e && e.message ? e.message : e).split('\n')[0] });
    await shot(page, `dashboard-failed-${name}.png`).catch(() => {});
  }
  console.log(JSON.stringify(results[results.length - 1]));
}

/** Records what a page reports: script errors, console errors, and every WebSocket frame received. */
function watch(page) {
  const seen = { pageErrors: [], consoleErrors: [], frames: [] };
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && seen.consoleErrors.push(m.text()));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => seen.frames.push({ path: new URL(ws.url()).pathname, payload: String(f.payload) })));
  return seen;
}

/** Submits a sleep job through the page's form; answers its row's selector, recording every state it shows. */
async function submitSleep(page, request) {
  await page.fill('#submit-type', 'sleep');
  await page.fill('#submit-request', request);
  await page.click('#submit-button');
  await page.waitForFunction(() => document.getElementById('submit-message').dataset.jobId);
  const id = await page.locator('#submit-message').getAttribute('data-job-id');
  const row = `[data-testid=job-row][data-job-id="${id}"]`;
  // Every state the row passes through, as "status | progress text".
  await page.evaluate((selector) => {
    const element = document.querySelector(selector);
    window.spoolRowStates = [];
    const record = () => {
      const text = `${element.querySelector('[data-testid=job-status]').textContent} | ${element.querySelector('.progress-text').textContent}`;
      if (window.spoolRowStates[window.spoolRowStates.length - 1] !== text) {
        window.spoolRowStates.push(text);
      }
    };
    new MutationObserver(record).observe(element, { subtree: true, childList: true, characterData: true, attributes: true });
    record();
  }, row);
  return { id, row };
}

const completed = (page, row) =>
  page.locator(`${row} [data-testid=job-status]`).filter({ hasText: /^completed$/ }).waitFor({ timeout: 30_000 });

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000 });
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MILLIS);
  const seen = watch(page);

  await scenario('fragment-key', page, async () => {
    await page.goto(`${baseUrl}/#key=${encodeURIComponent(apiKey)}`);
    await page.locator(`[data-testid=job-row][data-job-id="${seedJobId}"]`).waitFor();
    const url = page.url();
    return {
      fragmentRemoved: !url.includes('#') && !url.includes(encodeURIComponent(apiKey)),
      keyStored: (await page.evaluate(() => sessionStorage.getItem('spool.apiKey'))) === apiKey,
      keyPromptHidden: await page.locator('#key-panel').isHidden(),
      seedStatus: await page.locator(`[data-testid=job-row][data-job-id="${seedJobId}"] [data-testid=job-status]`).textContent(),
      rows: await page.locator('[data-testid=job-row]').count(),
    };
  });

  await scenario('live-progress', page, async () => {
    // A reload or navigation would drop this mark.
    await page.evaluate(() => { window.spoolTestMark = 'same page'; });
    const { id, row } = await submitSleep(page, '{"ms": 3000, "steps": 5}');
    // A picture of the bar part-way, for a person to look at.
    await page.locator(`${row} .progress-text`).filter({ hasText: /^[2-8]0%/ }).waitFor({ timeout: 30_000 });
    await shot(page, 'dashboard-progress.png');
    await completed(page, row);
    const rowStates = await page.evaluate(() => window.spoolRowStates);
    const progressFrames = seen.frames.filter((f) => f.path === '/v1/ws')
      .map((f) => JSON.parse(f.payload)).filter((e) => e.job_id === id && e.type === 'progress').length;
    const samePage = await page.evaluate(() => window.spoolTestMark === 'same page');

    await page.click(`${row} button.link`);
    await page.locator('#detail-events li[data-type=end]').waitFor();
    const detail = {
      detailId: await page.locator('#detail-id').textContent(),
      detailStatus: await page.locator('#detail-status').textContent(),
      detailResult: JSON.parse(await page.locator('#detail-result').textContent()),
      detailEventTypes: await page.locator('#detail-events li').evaluateAll((items) => items.map((li) => li.dataset.type)),
    };
    await shot(page, 'dashboard.png');
    return { jobId: id, rowStates, progressFrames, samePage, ...detail };
  });

  await scenario('queue-panel', page, async () => {
    const pending = page.locator(`[data-testid=queue-row][data-queue="${idleQueue}"] [data-field=pending]`);
    try {
      await pending.waitFor({ timeout: 12_000 });
    } catch (e) {
      const shown = await page.locator('#queue-panel').innerText();
      throw new Error(`no row for queue ${idleQueue} in the queue panel, which shows: ${shown.replace(/\s+/g, ' ')}`);
    }
    return {
      idleQueuePending: Number(await pending.textContent()),
      summary: await page.locator('#queue-summary').textContent(),
      queues: await page.locator('[data-testid=queue-row]').evaluateAll((rows) => rows.map((r) => r.dataset.queue)),
    };
  });

  await scenario('requeue', page, async () => {
    await page.click('#tab-dlq');
    const row = page.locator(`[data-testid=dlq-row][data-job-id="${deadJobId}"]`);
    await row.waitFor();
    const before = (await row.innerText()).replace(/\s+/g, ' ');
    await row.locator('[data-testid=requeue]').click();
    await page.locator('#dlq-message').filter({ hasText: 'requeued' }).waitFor();
    const outcome = {
      rowBefore: before,
      message: await page.locator('#dlq-message').textContent(),
      rowAfter: (await row.innerText()).replace(/\s+/g, ' '),
    };
    await shot(page, 'dashboard-dlq.png');
    // The requeued job is followed live in the job list until it ends.
    await page.click('#tab-jobs');
    await page.locator(`[data-testid=job-row][data-job-id="${deadJobId}"] [data-testid=job-status]`)
      .filter({ hasText: /^completed$/ }).waitFor();
    return { ...outcome, listStatusAfter: 'completed' };
  });

  await scenario('forget-key', page, async () => {
    await page.click('#forget-key');
    await page.locator('#key-panel').waitFor();
    return {
      keyPromptShown: await page.locator('#key-panel').isVisible(),
      appHidden: await page.locator('#app').isHidden(),
      keyStored: (await page.evaluate(() => sessionStorage.getItem('spool.apiKey'))) !== null,
    };
  });

  const strangerContext = await browser.newContext({ viewport: { width: 1000, height: 600 }, locale: 'en-GB', timezoneId: 'UTC' });
  const stranger = await strangerContext.newPage();
  stranger.setDefaultTimeout(WAIT_MILLIS);
  const strangerSeen = watch(stranger);
  await scenario('wrong-key', stranger, async () => {
    await stranger.goto(`${baseUrl}/#key=wrong-key-0123456789abcdef`);
    await stranger.locator('#key-error').filter({ hasText: /\S/ }).waitFor();
    const observed = {
      keyPromptShown: await stranger.locator('#key-panel').isVisible(),
      appHidden: await stranger.locator('#app').isHidden(),
      error: await stranger.locator('#key-error').textContent(),
      keyStored: (await stranger.evaluate(() => sessionStorage.getItem('spool.apiKey'))) !== null,
      fragmentRemoved: !stranger.url().includes('#'),
    };
    await shot(stranger, 'dashboard-key.png');
    return observed;
  });

  // The page's /v1/ws goes through this route, so the script can drop it as a network would.
  const flakyContext = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  const flaky = await flakyContext.newPage();
  flaky.setDefaultTimeout(WAIT_MILLIS);
  const flakySeen = watch(flaky);
  const connections = [];
  await flaky.routeWebSocket(/\/v1\/ws/, (pageSide) => {
    const serverSide = pageSide.connectToServer();
    const connection = { pageSide, serverSide, sent: [] };
    connections.push(connection);
    pageSide.onMessage((message) => {
      connection.sent.push(String(message));
      serverSide.send(message);
    });
  });
  await scenario('reconnect', flaky, async () => {
    await flaky.goto(`${baseUrl}/#key=${encodeURIComponent(apiKey)}`);
    await flaky.locator('#connection[data-state=live]').waitFor();
    const { id, row } = await submitSleep(flaky, '{"ms": 3000, "steps": 6}');
    await flaky.locator(`${row} .progress-text`).filter({ hasText: /^(33|50)%/ }).waitFor({ timeout: 30_000 });
    const dropped = connections[connections.length - 1];
    await dropped.pageSide.close({ code: 4000, reason: 'dropped by the test' });
    await dropped.serverSide.close();
    await flaky.locator('#connection[data-state=down]').waitFor();
    await flaky.locator('#connection[data-state=live]').waitFor();
    await completed(flaky, row);
    const subscribesAfterDrop = connections.slice(connections.indexOf(dropped) + 1)
      .flatMap((c) => c.sent.map((text) => JSON.parse(text)))
      .filter((command) => command.op === 'subscribe' && command.job_id === id);
    return {
      jobId: id,
      connections: connections.length,
      resubscribedAfter: subscribesAfterDrop.map((command) => command.after),
      rowStates: await flaky.evaluate(() => window.spoolRowStates),
    };
  });

  const all = [seen, strangerSeen, flakySeen];
  results.push({
    scenario: 'page-health',
    ok: true,
    pageErrors: all.flatMap((s) => s.pageErrors),
    policyViolations: all.flatMap((s) => s.consoleErrors).filter((text) => /Content Security Policy/i.test(text)),
  });
  console.log(JSON.stringify(results[results.length - 1]));
} finally {
  await browser.close();
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
