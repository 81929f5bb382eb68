// JobApi dashboard: plain JavaScript over the public API, no build step. Live updates come from each job's
// Server-Sent Events stream (read with fetch so the API key can be sent as a header).
'use strict';
const FINAL = new Set(['succeeded', 'failed', 'canceled']);
const view = document.getElementById('view');
const streams = new Map();            // job id -> AbortController of its events stream
let pageTimer = null, retrySupported = null;

const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const key = () => localStorage.getItem('jobapi.key') || '';
const headers = extra => Object.assign(key() ? { 'X-Api-Key': key() } : {}, extra || {});
const sleep = ms => new Promise(r => setTimeout(r, ms));
const time = t => t ? new Date(t).toLocaleTimeString() : '';
const eta = s => s == null ? '' : s < 90 ? `${Math.ceil(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
const rate = r => r == null ? '' : `${r >= 100 ? Math.round(r) : r.toFixed(1)}/s`;
const jobLink = id => `<a href="#/jobs/${esc(id)}">${esc(id)}</a>`;
// What a waiting job waits for: its runAt and the jobs it depends on.
const waitsFor = s => s.state !== 'waiting' ? '' :
  [s.runAt ? `until ${time(s.runAt)}` : '', s.dependsOn?.length ? `for ${s.dependsOn.map(jobLink).join(', ')}` : ''].filter(x => x).join(' and ');

function showError(text) {
  const box = document.getElementById('error');
  box.hidden = !text; box.textContent = text || '';
  if (text && /401|403/.test(text)) document.getElementById('key-panel').hidden = false;
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({}, options, { headers: headers(options && options.headers) }));
  if (!res.ok) {
    let detail = ''; try { detail = (await res.json()).detail || ''; } catch { }
    throw new Error(`${res.status} ${res.statusText}${detail ? ': ' + detail : ''}`);
  }
  return res.status === 204 ? null : res.json();
}

// Reads a job's events; calls onStatus(status, event) for each one; resumes with Last-Event-ID; ends after the final state.
async function follow(id, onStatus) {
  if (streams.has(id)) return;
  const abort = new AbortController(); streams.set(id, abort);
  let last = null;
  try {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`,
          { headers: headers(last == null ? {} : { 'Last-Event-ID': last }), signal: abort.signal });
        if (!res.ok) return;
        const reader = res.body.getReader(), decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
            const msg = { event: 'message', data: '' };
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':'); if (colon <= 0) continue;
              const field = line.slice(0, colon), val = line.slice(colon + 1).replace(/^ /, '');
              if (field === 'data') msg.data += val; else msg[field] = val;
            }
            if (!msg.data) continue;
            last = msg.id; const status = JSON.parse(msg.data);
            onStatus(status, msg.event);
            if (msg.event === 'state' && FINAL.has(status.state)) return;
          }
        }
      } catch (e) { if (abort.signal.aborted) return; }
      await sleep(1000);
    }
  } finally { streams.delete(id); }
}

function stopStreams() { for (const a of streams.values()) a.abort(); streams.clear(); }

function bar(status, big) {
  const pct = Math.round((status.progress || 0) * 1000) / 10;
  return `<div class="bar ${big ? 'big ' : ''}${esc(status.state)}" data-testid="progress" data-progress="${status.progress}" data-state="${esc(status.state)}">` +
    `<span style="width:${pct}%"></span><em>${pct}%</em></div>`;
}

// A small line chart of samples [{t, v}] (shards per second).
function chart(canvas, samples) {
  const ctx = canvas.getContext('2d'), w = canvas.width = canvas.clientWidth * devicePixelRatio, h = canvas.height = canvas.clientHeight * devicePixelRatio;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...samples.map(s => s.v));
  ctx.strokeStyle = '#263241'; ctx.beginPath(); ctx.moveTo(0, h - 1); ctx.lineTo(w, h - 1); ctx.stroke();
  ctx.fillStyle = '#8393a7'; ctx.font = `${11 * devicePixelRatio}px system-ui`; ctx.fillText(`${rate(max)} max`, 6, 14 * devicePixelRatio);
  if (samples.length < 2) return;
  ctx.strokeStyle = '#4aa3ff'; ctx.lineWidth = 2 * devicePixelRatio; ctx.beginPath();
  samples.forEach((s, i) => { const x = i / (samples.length - 1) * w, y = h - 4 - (s.v / max) * (h - 24); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
  ctx.stroke();
}

// Shards finished per second, from the change of finished counts between samples.
function throughputTracker() {
  let prev = null; const samples = [];
  return (finished, canvas) => {
    const now = performance.now();
    if (prev) { const dt = (now - prev.t) / 1000; if (dt >= 0.5) { samples.push({ v: Math.max(0, (finished - prev.f) / dt) }); prev = { t: now, f: finished }; } }
    else prev = { t: now, f: finished };
    if (samples.length > 120) samples.shift();
    chart(canvas, samples);
  };
}

function jobRow(s) {
  return `<td class="id"><a href="#/jobs/${esc(s.id)}">${esc(s.id)}</a></td><td>${esc(s.kind)}</td>` +
    `<td><span class="badge ${esc(s.state)}" data-testid="state">${esc(s.state)}</span></td><td>${bar(s)}</td>` +
    `<td>${s.shards.succeeded + s.shards.failed}/${s.shards.total}</td><td>${rate(s.throughput)}</td>` +
    `<td>${FINAL.has(s.state) ? '' : s.state === 'waiting' ? `<span class="muted">${waitsFor(s)}</span>` : eta(s.etaSeconds)}</td><td>${time(s.createdAt)}</td>`;
}

async function jobsPage() {
  const kinds = await api('/v1/kinds').catch(() => []);
  view.innerHTML = `<div class="panel"><h2>Throughput (shards/s, jobs on this page)</h2><canvas id="chart"></canvas></div>
    <div class="panel"><div class="filters"><h2 style="margin:0">Jobs</h2>
      <select id="f-state"><option value="">any state</option>${['waiting', 'queued', 'running', 'succeeded', 'failed', 'canceled'].map(s => `<option>${s}</option>`).join('')}</select>
      <select id="f-kind"><option value="">any kind</option>${kinds.map(k => `<option>${esc(k.name)}</option>`).join('')}</select></div>
      <table><thead><tr><th>id</th><th>kind</th><th>state</th><th>progress</th><th>shards</th><th>rate</th><th>eta</th><th>created</th></tr></thead>
      <tbody id="jobs"></tbody></table></div>`;
  const track = throughputTracker(), rows = new Map();
  const refresh = async () => {
    const q = new URLSearchParams({ limit: '50' });
    const st = document.getElementById('f-state')?.value, kd = document.getElementById('f-kind')?.value;
    if (st) q.set('state', st); if (kd) q.set('kind', kd);
    try {
      const page = await api(`/v1/jobs?${q}`); showError('');
      const body = document.getElementById('jobs'); if (!body) return;
      body.innerHTML = page.items.map(s => `<tr data-job="${esc(s.id)}">${jobRow(s)}</tr>`).join('') || '<tr><td colspan="8" class="muted">No jobs yet.</td></tr>';
      rows.clear(); page.items.forEach(s => rows.set(s.id, s));
      page.items.filter(s => !FINAL.has(s.state)).slice(0, 20).forEach(s => follow(s.id, status => {
        rows.set(status.id, status);
        const tr = document.querySelector(`tr[data-job="${CSS.escape(status.id)}"]`); if (tr) tr.innerHTML = jobRow(status);
      }));
    } catch (e) { showError(`Cannot list jobs: ${e.message}`); }
  };
  document.getElementById('f-state').onchange = document.getElementById('f-kind').onchange = refresh;
  await refresh();
  pageTimer = setInterval(() => {
    let finished = 0; for (const s of rows.values()) finished += s.shards.succeeded + s.shards.failed;
    track(finished, document.getElementById('chart'));
  }, 1000);
  const listTimer = setInterval(refresh, 3000);
  const stop = pageTimer; pageTimer = { clear: () => { clearInterval(stop); clearInterval(listTimer); } };
}

async function loadShards(id, total) {
  const items = [];
  for (let cursor = '0'; cursor != null && items.length < 20000;) {
    const page = await api(`/v1/jobs/${encodeURIComponent(id)}/shards?limit=1000&cursor=${cursor}`);
    items.push(...page.items); cursor = page.nextCursor;
  }
  return items;
}

async function supportsRetry() {
  if (retrySupported == null) {
    retrySupported = await fetch('/swagger/v1/swagger.json').then(r => r.ok ? r.json() : {}).then(d => !!(d.paths && d.paths['/v1/jobs/{id}/retry'])).catch(() => false);
  }
  return retrySupported;
}

async function jobPage(id) {
  view.innerHTML = `<div class="panel"><h2>Job <span class="id" data-testid="job-id">${esc(id)}</span></h2><div id="summary">Loading…</div></div>
    <div class="row"><div class="panel"><h2>Throughput (shards/s)</h2><canvas id="chart"></canvas></div>
      <div class="panel"><h2>Dead letters</h2><div id="dead" class="muted">None.</div></div></div>
    <div class="panel"><h2>Shards</h2><div class="legend">${['queued', 'running', 'succeeded', 'retrying', 'failed'].map(s => `<span><i class="cell ${s}"></i>${s}</span>`).join('')}</div>
      <div id="shardmap" class="shardmap" data-testid="shardmap"></div><pre id="shard-detail" hidden></pre></div>`;
  const track = throughputTracker();
  let shardsDue = 0, loading = false;
  const render = async status => {
    const summary = document.getElementById('summary'); if (!summary) return;
    summary.innerHTML = `<div class="stats"><div><span class="muted">state</span><b><span class="badge ${esc(status.state)}" data-testid="state">${esc(status.state)}</span></b></div>
      <div><span class="muted">kind</span><b>${esc(status.kind)}</b></div><div><span class="muted">shards</span><b>${status.shards.succeeded + status.shards.failed} / ${status.shards.total}</b></div>
      <div><span class="muted">running</span><b>${status.shards.running}</b></div><div><span class="muted">attempts</span><b>${status.attempts}</b></div>
      <div><span class="muted">rate</span><b>${rate(status.throughput) || '–'}</b></div><div><span class="muted">eta</span><b>${FINAL.has(status.state) ? '–' : eta(status.etaSeconds) || '–'}</b></div>
      <div><span class="muted">created</span><b>${time(status.createdAt)}</b></div>${status.priority ? `<div><span class="muted">priority</span><b>${status.priority}</b></div>` : ''}</div>${bar(status, true)}
      ${status.state === 'waiting' ? `<p data-testid="waiting">Waiting ${waitsFor(status)}.</p>` : ''}
      ${status.scheduleId ? `<p class="muted">Started by schedule ${esc(status.scheduleId)}.</p>` : ''}
      ${status.error ? `<pre data-testid="job-error">${esc(status.error)}</pre>` : ''}
      ${FINAL.has(status.state) ? '' : '<p><button id="cancel" type="button">Cancel job</button></p>'}
      ${status.state === 'succeeded' ? `<p><a href="/v1/jobs/${esc(id)}/result" target="_blank">Result JSON</a></p>` : ''}`;
    const cancel = document.getElementById('cancel');
    if (cancel) cancel.onclick = () => api(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }).then(render).catch(e => showError(e.message));
    track(status.shards.succeeded + status.shards.failed, document.getElementById('chart'));
    if (Date.now() >= shardsDue && !loading || FINAL.has(status.state)) {
      loading = true; shardsDue = Date.now() + 1000;
      try { renderShards(id, await loadShards(id, status.shards.total), status); } catch (e) { showError(e.message); } finally { loading = false; }
    }
  };
  try { await render(await api(`/v1/jobs/${encodeURIComponent(id)}`)); } catch (e) { showError(e.message); return; }
  follow(id, render);
}

async function renderShards(id, shards, status) {
  const map = document.getElementById('shardmap'); if (!map) return;
  const cls = s => s.state === 'queued' && s.attempts > 0 ? 'retrying' : s.state;
  map.innerHTML = shards.map(s => `<div class="cell ${cls(s)}" data-index="${s.index}" data-state="${esc(s.state)}" title="shard ${s.index}: ${esc(s.state)}, ${s.attempts} attempt(s)${s.worker ? ', worker ' + esc(s.worker) : ''}${s.error ? '\n' + esc(s.error) : ''}"></div>`).join('');
  map.onclick = e => {
    const s = shards[e.target.dataset.index]; if (!s) return;
    const d = document.getElementById('shard-detail'); d.hidden = false; d.textContent = JSON.stringify(s, null, 2);
  };
  const dead = shards.filter(s => s.state === 'failed'), box = document.getElementById('dead');
  if (!dead.length) { box.className = 'muted'; box.textContent = 'None.'; return; }
  box.className = '';
  box.innerHTML = `<table data-testid="dead-letters"><thead><tr><th>shard</th><th>attempts</th><th>error</th></tr></thead><tbody>${dead.map(s =>
    `<tr><td>${s.index}</td><td>${s.attempts}</td><td>${esc(s.error)}</td></tr>`).join('')}</tbody></table>` +
    (status.state === 'failed' && await supportsRetry() ? '<p><button id="retry" type="button">Retry dead shards</button></p>'
      : '<p class="muted">Retrying dead shards needs <code>POST /v1/jobs/{id}/retry</code>, which this server does not offer yet.</p>');
  const retry = document.getElementById('retry');
  if (retry) retry.onclick = () => api(`/v1/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' }).then(() => { stopStreams(); jobPage(id); }).catch(e => showError(e.message));
}

async function workersPage() {
  view.innerHTML = `<div class="panel"><h2>Workers</h2><table><thead><tr><th>id</th><th>host</th><th>started</th><th>heartbeat</th><th>slots</th><th>running shards</th></tr></thead>
    <tbody id="workers"></tbody></table></div>`;
  const refresh = async () => {
    try {
      const page = await api('/v1/workers'); showError('');
      const body = document.getElementById('workers'); if (!body) return;
      body.innerHTML = page.items.map(w => `<tr data-worker="${esc(w.id)}"><td class="id">${esc(w.id)}</td><td>${esc(w.host)}</td><td>${time(w.startedAt)}</td><td>${time(w.heartbeatAt)}</td>
        <td>${w.running.length} / ${w.concurrency}</td><td>${w.running.slice(0, 12).map(r => `<a href="#/jobs/${esc(r.jobId)}">${esc(r.jobId)}#${r.index}</a>`).join(' ')}${w.running.length > 12 ? ' …' : ''}</td></tr>`).join('')
        || '<tr><td colspan="6" class="muted">No live workers.</td></tr>';
    } catch (e) { showError(`Cannot list workers: ${e.message}`); }
  };
  await refresh();
  const t = setInterval(refresh, 2000); pageTimer = { clear: () => clearInterval(t) };
}

function route() {
  stopStreams(); if (pageTimer) { (pageTimer.clear || (() => clearInterval(pageTimer)))(); pageTimer = null; }
  showError('');
  const hash = location.hash || '#/';
  const job = hash.match(/^#\/jobs\/([^/]+)$/);
  if (job) jobPage(decodeURIComponent(job[1]));
  else if (hash === '#/workers') workersPage();
  else jobsPage();
}

document.getElementById('key-button').onclick = () => { const p = document.getElementById('key-panel'); p.hidden = !p.hidden; };
document.getElementById('key-save').onclick = () => {
  localStorage.setItem('jobapi.key', document.getElementById('key-input').value);
  document.getElementById('key-panel').hidden = true; route();
};
window.addEventListener('hashchange', route);
route();
