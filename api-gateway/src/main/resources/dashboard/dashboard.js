// Spool's dashboard: plain DOM, no framework, no build step. Every value from the server is shown
// with textContent, never as HTML. All data comes from /v1 with the user's API key.

const KEY_STORAGE = 'spool.apiKey';
/** Queue figures and new jobs are fetched this often. */
const POLL_MILLIS = 5000;
/** WebSocket reconnects wait this long at first, doubling up to the maximum. */
const RECONNECT_MIN_MILLIS = 500;
const RECONNECT_MAX_MILLIS = 15000;
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

const $ = (id) => document.getElementById(id);

const state = {
  key: null,
  /** Jobs shown, by id: {job, updated (performance.now() of the last write), progress {percent, text}}. */
  jobs: new Map(),
  nextCursor: null,
  socket: null,
  socketOpened: false,
  reconnectMillis: RECONNECT_MIN_MILLIS,
  reconnectTimer: null,
  /** Unfinished jobs followed over the WebSocket: id -> last seq received (0 for none yet). */
  followed: new Map(),
  pollTimer: null,
  /** The job open in the detail panel and its event stream. */
  detail: null,
};

class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
  }
}

/** "Title: detail", plus each field error; for application/problem+json bodies and the like. */
function describeProblem(status, problem) {
  if (!problem || typeof problem !== 'object') {
    return status ? `HTTP ${status}` : 'the gateway could not be reached';
  }
  let text = [problem.title, problem.detail].filter(Boolean).join(': ') || `HTTP ${status}`;
  if (Array.isArray(problem.errors) && problem.errors.length > 1) {
    text += ' (' + problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ') + ')';
  }
  return text;
}

/** A /v1 call with the key; answers the parsed JSON. A 401 asks for the key again. */
async function api(path, { method = 'GET', body } = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: 'the gateway could not be reached' });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (response.status === 401) {
    askForKey(`The API key was refused: ${json && json.detail ? json.detail : 'unauthorized'}`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, json);
  }
  return json;
}

// ---- the key ----

/** A key in the fragment (#key=...) is stored, then taken out of the address bar and history. */
function keyFromFragment() {
  const match = /(?:^#|&)key=([^&]*)/.exec(location.hash);
  if (!match) {
    return null;
  }
  history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]).trim();
  } catch (e) {
    return match[1].trim();
  }
}

function askForKey(message) {
  stopLiveUpdates();
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  state.jobs.clear();
  state.followed.clear();
  $('job-rows').replaceChildren();
  $('dlq-rows').replaceChildren();
  closeDetail();
  $('app').hidden = true;
  $('forget-key').hidden = true;
  $('key-panel').hidden = false;
  $('key-error').textContent = message || '';
  $('key-input').focus();
}

function openDashboard() {
  $('key-panel').hidden = true;
  $('key-error').textContent = '';
  $('app').hidden = false;
  $('forget-key').hidden = false;
  loadJobs();
  loadQueues();
  connect();
  state.pollTimer = setInterval(poll, POLL_MILLIS);
}

function stopLiveUpdates() {
  clearInterval(state.pollTimer);
  clearTimeout(state.reconnectTimer);
  state.pollTimer = null;
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
  setConnection('off', 'not connected');
}

// ---- jobs ----

async function loadJobs({ older = false } = {}) {
  const started = performance.now();
  const cursor = older && state.nextCursor ? `&cursor=${encodeURIComponent(state.nextCursor)}` : '';
  try {
    const page = await api(`/v1/jobs?limit=50${cursor}`);
    $('jobs-message').textContent = '';
    if (older || state.jobs.size === 0) {
      state.nextCursor = page.next_cursor;
    }
    page.jobs.forEach((job) => mergeJob(job, started));
    $('more-jobs').hidden = !state.nextCursor;
    $('jobs-empty').hidden = state.jobs.size > 0;
  } catch (e) {
    if (e.status !== 401) {
      $('jobs-message').textContent = `Could not load jobs: ${e.message}`;
    }
  }
}

/**
 * Takes a job as read at {@code readAt} (performance.now() when the request left): it replaces what
 * is shown unless a live event or an answer to an action changed that job after the read began.
 */
function mergeJob(job, readAt) {
  const known = state.jobs.get(job.id);
  if (known && known.updated > readAt) {
    return;
  }
  showJob(job);
}

/** Shows the job as it is now (an event's or an action's answer), and follows it while unfinished. */
function showJob(job) {
  const known = state.jobs.get(job.id);
  const entry = known || { progress: { percent: null, text: '' } };
  entry.job = job;
  entry.updated = performance.now();
  if (job.status === 'completed') {
    entry.progress = { percent: 100, text: 'done' };
  }
  state.jobs.set(job.id, entry);
  renderJobRow(entry);
  $('jobs-empty').hidden = true;
  if (!FINISHED.has(job.status)) {
    follow(job.id);
  }
  if (state.detail && state.detail.id === job.id) {
    renderDetailJob(job);
  }
}

function renderJobRow(entry) {
  const job = entry.job;
  let row = document.querySelector(`#job-rows tr[data-job-id="${CSS.escape(job.id)}"]`);
  if (!row) {
    row = document.createElement('tr');
    row.dataset.jobId = job.id;
    row.dataset.testid = 'job-row';
    for (const field of ['id', 'type', 'queue', 'status', 'attempts', 'submitted', 'progress']) {
      const cell = document.createElement('td');
      cell.dataset.field = field;
      row.append(cell);
    }
    const open = jobLink(job);
    row.cells[0].append(open);
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.setAttribute('aria-label', `Progress of job ${job.id}`);
    const note = document.createElement('span');
    note.className = 'progress-text';
    row.cells[6].append(bar, note);
    insertNewestFirst(row);
  }
  row.cells[1].textContent = job.type;
  row.cells[2].textContent = job.queue;
  renderStatus(row.cells[3], job);
  row.cells[4].textContent = attempts(job);
  row.cells[4].className = 'num';
  row.cells[5].textContent = formatTime(job.submitted_at);
  row.cells[5].title = job.submitted_at || '';
  renderProgress(row.cells[6], entry);
}

/** Job ids are UUIDv7: their text sorts by creation time, so newest first is descending order. */
function insertNewestFirst(row) {
  const rows = $('job-rows');
  const before = [...rows.rows].find((other) => other.dataset.jobId < row.dataset.jobId);
  rows.insertBefore(row, before || null);
}

function renderStatus(cell, job) {
  cell.replaceChildren();
  const badge = document.createElement('span');
  badge.className = `status status-${job.status}`;
  badge.dataset.testid = 'job-status';
  badge.textContent = job.cancel_requested && !FINISHED.has(job.status) ? `${job.status} (cancelling)` : job.status;
  cell.append(badge);
}

function renderProgress(cell, entry) {
  const [bar, note] = cell.children;
  const { percent, text } = entry.progress;
  if (percent === null) {
    bar.removeAttribute('value');
    bar.hidden = entry.job.status !== 'running';
  } else {
    bar.value = percent;
    bar.hidden = false;
  }
  let shown = text;
  if (entry.job.status === 'failed') {
    shown = entry.job.error || 'failed';
  } else if (!shown) {
    shown = entry.job.status === 'pending' ? 'waiting' : '';
  }
  note.textContent = percent === null || entry.job.status === 'failed' ? shown : `${percent}%${shown ? ' · ' + shown : ''}`;
  note.title = note.textContent;
  cell.dataset.testid = 'job-progress';
}

/** What a progress or output event says: {step|done, of} as a share, else a message or its JSON. */
function describeProgress(entry, type, data) {
  if (type === 'output') {
    const tail = (entry.progress.output || '') + (data && typeof data.text === 'string' ? data.text : '');
    return { percent: entry.progress.percent, text: '…' + tail.slice(-60), output: tail.slice(-200) };
  }
  const done = data && (Number.isFinite(data.step) ? data.step : data.done);
  if (data && Number.isFinite(done) && Number.isFinite(data.of) && data.of > 0) {
    return { percent: Math.min(100, Math.round((100 * done) / data.of)), text: `${done}/${data.of}` };
  }
  const message = data && typeof data.message === 'string' ? data.message : JSON.stringify(data);
  return { percent: entry.progress.percent, text: truncate(message, 60) };
}

// ---- live progress over one WebSocket (/v1/ws) ----

function connect() {
  if (!state.key || state.socket) {
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: the key goes as access_token.
  const socket = new WebSocket(`${scheme}//${location.host}/v1/ws?access_token=${encodeURIComponent(state.key)}`);
  state.socket = socket;
  state.socketOpened = false;
  setConnection('connecting', 'connecting…');
  socket.addEventListener('open', () => {
    state.socketOpened = true;
    state.reconnectMillis = RECONNECT_MIN_MILLIS;
    setConnection('live', 'live');
    // Resume each followed job after the last event it showed: nothing lost, nothing twice.
    for (const [id, seq] of state.followed) {
      send({ op: 'subscribe', job_id: id, after: seq });
    }
  });
  socket.addEventListener('message', (message) => onSocketMessage(message.data));
  socket.addEventListener('close', () => {
    if (state.socket !== socket) {
      return; // closed on purpose
    }
    state.socket = null;
    setConnection('down', 'reconnecting…');
    if (!state.socketOpened) {
      // A refused handshake shows no status to scripts: a cheap call finds out whether it was the key.
      api('/v1/jobs?limit=1').catch(() => {});
    }
    state.reconnectTimer = setTimeout(connect, state.reconnectMillis);
    state.reconnectMillis = Math.min(RECONNECT_MAX_MILLIS, state.reconnectMillis * 2);
  });
}

function send(command) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(command));
  }
}

function follow(id) {
  if (!state.followed.has(id)) {
    state.followed.set(id, 0);
    send({ op: 'subscribe', job_id: id, after: 0 });
  }
}

function onSocketMessage(text) {
  let event;
  try {
    event = JSON.parse(text);
  } catch (e) {
    return;
  }
  const id = event.job_id;
  if (event.type === 'error') {
    if (id && event.retry && state.followed.has(id)) {
      setTimeout(() => send({ op: 'subscribe', job_id: id, after: state.followed.get(id) || 0 }), 1000);
    } else if (id && event.message !== 'already subscribed') {
      state.followed.delete(id);
    }
    return;
  }
  const last = state.followed.get(id);
  if (last === undefined || event.seq <= last) {
    return;
  }
  state.followed.set(id, event.seq);
  applyEvent(event);
}

function applyEvent(event) {
  const entry = state.jobs.get(event.job_id);
  if (!entry) {
    return;
  }
  const data = event.data;
  switch (event.type) {
    case 'status':
      if (data && data.status) {
        showJob({ ...entry.job, status: data.status, attempts: Math.max(entry.job.attempts, event.attempt || 0) });
      }
      break;
    case 'progress':
    case 'output':
      entry.progress = describeProgress(entry, event.type, data);
      entry.updated = performance.now();
      renderJobRow(entry);
      break;
    case 'end':
      if (data && FINISHED.has(data.status)) {
        state.followed.delete(event.job_id);
        showJob(data);
      } else if (data) {
        // The log of a requeued job still holds the end of its earlier run: follow on after it.
        showJob(data);
        send({ op: 'subscribe', job_id: event.job_id, after: event.seq });
      }
      break;
    default:
      break; // checkpoint: nothing to show in the list
  }
}

function setConnection(dataState, text) {
  const badge = $('connection');
  badge.dataset.state = dataState;
  badge.textContent = text;
}

// ---- one job's detail: its events from the log (SSE) and its result ----

async function openDetail(id) {
  closeDetail();
  const detail = { id, source: null };
  state.detail = detail;
  $('job-detail').hidden = false;
  $('detail-id').textContent = id;
  $('detail-events').replaceChildren();
  $('detail-message').textContent = '';
  $('detail-events-state').textContent = 'loading…';
  const known = state.jobs.get(id);
  if (known) {
    renderDetailJob(known.job);
  }
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    if (state.detail !== detail) {
      return;
    }
    renderDetailJob(job);
  } catch (e) {
    if (state.detail === detail && e.status !== 401) {
      $('detail-message').textContent = `Could not load the job: ${e.message}`;
    }
    return;
  }
  streamDetailEvents(detail, 0);
}

/** The job's events after {@code after} over SSE; EventSource resumes by itself (Last-Event-ID) if the stream drops. */
function streamDetailEvents(detail, after) {
  const query = `access_token=${encodeURIComponent(state.key)}${after ? `&after=${after}` : ''}`;
  const source = new EventSource(`/v1/jobs/${encodeURIComponent(detail.id)}/events?${query}`);
  detail.source = source;
  for (const type of ['status', 'progress', 'output', 'checkpoint', 'end']) {
    source.addEventListener(type, (message) => onDetailEvent(detail, message.data));
  }
  source.addEventListener('open', () => {
    if (state.detail === detail) {
      $('detail-events-state').textContent = 'live';
    }
  });
  source.addEventListener('error', () => {
    if (state.detail === detail) {
      $('detail-events-state').textContent = source.readyState === EventSource.CLOSED ? 'unavailable' : 'reconnecting…';
    }
  });
}

function onDetailEvent(detail, text) {
  if (state.detail !== detail) {
    return;
  }
  let event;
  try {
    event = JSON.parse(text);
  } catch (e) {
    return;
  }
  const item = document.createElement('li');
  item.dataset.type = event.type;
  const head = document.createElement('span');
  head.className = 'event-head';
  head.textContent = `#${event.seq} ${event.type}`;
  const time = document.createElement('time');
  time.dateTime = event.ts || '';
  time.textContent = formatTime(event.ts, true);
  const body = document.createElement('code');
  body.textContent = event.type === 'end' ? `job is ${event.data ? event.data.status : 'gone'}` : JSON.stringify(event.data);
  item.append(head, ' ', time, ' ', body);
  $('detail-events').append(item);
  if (event.type === 'end') {
    detail.source.close();
    if (event.data) {
      renderDetailJob(event.data);
      if (state.jobs.has(event.data.id)) {
        showJob(event.data);
      }
    }
    if (event.data && !FINISHED.has(event.data.status)) {
      // The log of a requeued job still holds the end of its earlier run: go on after it.
      streamDetailEvents(detail, event.seq);
    } else {
      $('detail-events-state').textContent = 'ended';
    }
  }
}

function renderDetailJob(job) {
  $('detail-heading').textContent = `Job …${job.id.slice(-8)}`;
  const status = $('detail-status');
  status.replaceChildren();
  const badge = document.createElement('span');
  badge.className = `status status-${job.status}`;
  badge.textContent = job.status;
  status.append(badge);
  $('detail-type').textContent = job.type;
  $('detail-queue').textContent = job.queue;
  $('detail-attempts').textContent = attempts(job);
  $('detail-submitted').textContent = formatTime(job.submitted_at);
  $('detail-finished').textContent = formatTime(job.finished_at);
  $('detail-request').textContent = pretty(job.request);
  $('detail-result').textContent = pretty(job.result);
  $('detail-error').textContent = job.error == null ? '—' : String(job.error);
  $('cancel-job').hidden = FINISHED.has(job.status) || Boolean(job.cancel_requested);
}

function closeDetail() {
  if (state.detail && state.detail.source) {
    state.detail.source.close();
  }
  state.detail = null;
  $('job-detail').hidden = true;
}

async function cancelShownJob() {
  const detail = state.detail;
  if (!detail) {
    return;
  }
  $('cancel-job').disabled = true;
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(detail.id)}/cancel`, { method: 'POST' });
    $('detail-message').textContent = job.status === 'cancelled' ? 'Cancelled.' : 'Cancellation requested.';
    showJob(job);
  } catch (e) {
    if (e.status !== 401) {
      $('detail-message').textContent = `Could not cancel: ${e.message}`;
    }
  } finally {
    $('cancel-job').disabled = false;
  }
}

// ---- submitting ----

async function submitJob(event) {
  event.preventDefault();
  const message = $('submit-message');
  message.className = '';
  let request;
  try {
    const text = $('submit-request').value.trim();
    request = text ? JSON.parse(text) : {};
  } catch (e) {
    message.className = 'error';
    message.textContent = `The request is not valid JSON: ${e.message}`;
    return;
  }
  const body = { type: $('submit-type').value.trim(), request };
  const queue = $('submit-queue').value.trim();
  if (queue) {
    body.queue = queue;
  }
  const maxAttempts = $('submit-attempts').value.trim();
  if (maxAttempts) {
    body.max_attempts = Number(maxAttempts);
  }
  $('submit-button').disabled = true;
  try {
    const job = await api('/v1/jobs', { method: 'POST', body: JSON.stringify(body) });
    message.textContent = `Submitted job ${job.id}.`;
    message.dataset.jobId = job.id;
    showJob(job);
  } catch (e) {
    if (e.status !== 401) {
      message.className = 'error';
      message.textContent = `Not submitted: ${e.message}`;
    }
  } finally {
    $('submit-button').disabled = false;
  }
}

// ---- the dead-letter queue ----

async function loadDeadLetters() {
  try {
    const page = await api('/v1/dlq?limit=100');
    const rows = page.jobs.map(deadLetterRow);
    $('dlq-rows').replaceChildren(...rows);
    $('dlq-empty').hidden = rows.length > 0;
  } catch (e) {
    if (e.status !== 401) {
      $('dlq-message').textContent = `Could not load the dead-letter queue: ${e.message}`;
    }
  }
}

/** The job's short id as a button that opens its detail. */
function jobLink(job) {
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link mono';
  open.textContent = shortId(job.id);
  open.title = job.id;
  open.setAttribute('aria-label', `Show job ${job.id}`);
  open.addEventListener('click', () => openDetail(job.id));
  return open;
}

function deadLetterRow(job) {
  const row = document.createElement('tr');
  row.dataset.jobId = job.id;
  row.dataset.testid = 'dlq-row';
  const open = jobLink(job);
  const error = cell(truncate(job.error || '', 80));
  error.title = job.error || '';
  const finished = cell(formatTime(job.finished_at));
  finished.title = job.finished_at || '';
  const requeue = document.createElement('button');
  requeue.type = 'button';
  requeue.textContent = 'Requeue';
  requeue.dataset.testid = 'requeue';
  requeue.setAttribute('aria-label', `Requeue job ${job.id}`);
  requeue.addEventListener('click', () => requeueJob(job, row, requeue));
  row.append(cell(open), cell(job.type), cell(job.queue), cell(attempts(job), 'num'),
    error, finished, cell(requeue));
  return row;
}

async function requeueJob(job, row, button) {
  button.disabled = true;
  button.textContent = 'Requeuing…';
  try {
    const requeued = await api(`/v1/dlq/${encodeURIComponent(job.id)}/requeue`, { method: 'POST' });
    $('dlq-message').textContent = `Job ${job.id} requeued: it is ${requeued.status} again.`;
    row.classList.add('done');
    button.replaceWith(document.createTextNode(`requeued (${requeued.status})`));
    showJob(requeued);
  } catch (e) {
    button.disabled = false;
    button.textContent = 'Requeue';
    if (e.status !== 401) {
      $('dlq-message').textContent = `Job ${job.id} was not requeued: ${e.message}`;
    }
  }
}

// ---- queues ----

async function loadQueues() {
  try {
    const figures = await api('/v1/queues');
    $('queue-unavailable').hidden = true;
    $('queue-table').hidden = false;
    const parts = [`${figures.workers} worker${figures.workers === 1 ? '' : 's'}`, `Redis ${figures.redis}`];
    if (figures.sampled_at) {
      parts.push(`as of ${formatTime(figures.sampled_at)}`);
    }
    $('queue-summary').textContent = parts.join(' · ');
    $('queue-rows').replaceChildren(...figures.queues.map(queueRow));
  } catch (e) {
    if (e.status === 401) {
      return;
    }
    $('queue-summary').textContent = '';
    $('queue-table').hidden = true;
    $('queue-unavailable').hidden = false;
    $('queue-unavailable').textContent = `Queue figures unavailable (${e.message}).`;
  }
}

function queueRow(queue) {
  const row = document.createElement('tr');
  row.dataset.testid = 'queue-row';
  row.dataset.queue = queue.queue;
  const lag = cell(queue.lag == null ? '—' : String(queue.lag), 'num');
  if (queue.lag == null) {
    lag.title = 'not known while Redis is down';
  }
  const oldest = cell(queue.oldest_pending_at ? age(queue.oldest_pending_at) : '—');
  oldest.title = queue.oldest_pending_at || '';
  row.append(cell(queue.queue), numberCell('pending', queue.pending), numberCell('running', queue.running), lag,
    oldest, numberCell('dead_letters', queue.dead_letters));
  return row;
}

function numberCell(field, value) {
  const td = cell(value == null ? '—' : String(value), 'num');
  td.dataset.field = field;
  return td;
}

/** Finds jobs submitted elsewhere and refreshes the queue figures. */
function poll() {
  if (document.hidden || !state.key) {
    return;
  }
  loadQueues();
  loadJobs();
}

// ---- small helpers ----

function cell(content, className) {
  const td = document.createElement('td');
  if (className) {
    td.className = className;
  }
  if (content instanceof Node) {
    td.append(content);
  } else {
    td.textContent = content;
  }
  return td;
}

/** "1/3"; a requeued job counts on past its run's max_attempts, so then just the count. */
function attempts(job) {
  return job.attempts > job.max_attempts ? String(job.attempts) : `${job.attempts}/${job.max_attempts}`;
}

/** The end of the id: UUIDv7s made close together share their start (a timestamp). */
function shortId(id) {
  return '…' + id.slice(-8);
}

function truncate(text, length) {
  return text.length > length ? text.slice(0, length - 1) + '…' : text;
}

function pretty(value) {
  return value == null ? '—' : JSON.stringify(value, null, 2);
}

function formatTime(iso, withMillis = false) {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const ms = withMillis ? '.' + String(date.getMilliseconds()).padStart(3, '0') : '';
  const today = new Date().toDateString() === date.toDateString();
  return today ? time + ms : `${date.toLocaleDateString()} ${time}${ms}`;
}

function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 90) {
    return `${seconds} s ago`;
  }
  return seconds < 5400 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
}

function showTab(name) {
  const jobs = name === 'jobs';
  $('tab-jobs').setAttribute('aria-selected', String(jobs));
  $('tab-dlq').setAttribute('aria-selected', String(!jobs));
  $('jobs-view').hidden = !jobs;
  $('dlq-view').hidden = jobs;
  if (!jobs) {
    $('dlq-message').textContent = '';
    loadDeadLetters();
  }
}

// ---- start ----

function start() {
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key-input').value.trim();
    if (!key) {
      return;
    }
    $('key-input').value = '';
    sessionStorage.setItem(KEY_STORAGE, key);
    state.key = key;
    openDashboard();
  });
  $('forget-key').addEventListener('click', () => askForKey(''));
  $('submit-form').addEventListener('submit', submitJob);
  $('refresh-jobs').addEventListener('click', () => loadJobs());
  $('more-jobs').addEventListener('click', () => loadJobs({ older: true }));
  $('refresh-dlq').addEventListener('click', () => {
    $('dlq-message').textContent = '';
    loadDeadLetters();
  });
  $('tab-jobs').addEventListener('click', () => showTab('jobs'));
  $('tab-dlq').addEventListener('click', () => showTab('dlq'));
  $('close-detail').addEventListener('click', closeDetail);
  $('cancel-job').addEventListener('click', cancelShownJob);

  const fromFragment = keyFromFragment();
  if (fromFragment) {
    sessionStorage.setItem(KEY_STORAGE, fromFragment);
  }
  state.key = sessionStorage.getItem(KEY_STORAGE);
  if (state.key) {
    openDashboard();
  } else {
    askForKey('');
  }
}

start();
