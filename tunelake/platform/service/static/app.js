// The tunelake page: experiments and their charts, trials, compare, SQL, submit. Plain JavaScript modules against
// the REST API (every number on the page comes from it); no build step, nothing from the network.
"use strict";

import { $, api, cell, cost, duration, fmt, pager, query, say, token, when } from "./api.js";
import * as charts from "./charts.js";
import { refreshTrials, setupTrials, trialState } from "./trials.js";
import { compareTicked, setupSql, showRegret } from "./tools.js";

const state = { selected: null, drawn: null, picked: 0, importanceAt: 0, list: { sort: "created_at", order: "desc", q: "", offset: 0 },
  ticked: new Set(), history: null, experiment: null };
const LIST_LIMIT = 50;
const LIVE = new Set(["running", "submitted"]);

async function refreshList() {
  const l = state.list;
  const list = await api(`/experiments?${query({ limit: LIST_LIMIT, offset: l.offset, q: l.q, sort: l.sort, order: l.order })}`);
  const body = $("#experiments tbody");
  body.replaceChildren();
  for (const e of list.data) {
    const tr = document.createElement("tr");
    tr.dataset.id = e.experiment_id;
    if (e.experiment_id === state.selected) tr.classList.add("selected");
    const tick = document.createElement("input");
    tick.type = "checkbox"; tick.checked = state.ticked.has(e.experiment_id); tick.title = "compare";
    tick.addEventListener("click", (event) => {
      event.stopPropagation();
      if (tick.checked) state.ticked.add(e.experiment_id); else state.ticked.delete(e.experiment_id);
    });
    cell(tr, "").appendChild(tick);
    const c = e.counts || {};
    const done = (c.completed || 0) + (c.failed || 0) + (c.stopped || 0);
    cell(tr, e.name && !e.experiment_id.startsWith(e.name) ? `${e.name} · ${e.experiment_id}` : e.experiment_id);
    cell(tr, e.job_status && e.status === "running" ? `${e.status} (${e.job_status.toLowerCase()})` : e.status,
      `status-${e.status}`);
    cell(tr, `${done}/${e.num_samples || "?"}${c.running ? ` · ${c.running} running` : ""}${c.failed ? ` · ${c.failed} failed` : ""}`);
    cell(tr, e.best_value === null || e.best_value === undefined ? "" : `${e.primary_metric}=${fmt(e.best_value)}`);
    cell(tr, when(e.created_at));
    cell(tr, duration(e.duration_s));
    tr.addEventListener("click", () => select(e.experiment_id));
    body.appendChild(tr);
  }
  pager($("#experiments-pager"), l.offset, LIST_LIMIT, list.count, (offset) => { l.offset = offset; refreshList(); });
}

function select(experimentId) {
  state.selected = experimentId;
  state.picked += 1;  // a refresh already under way draws nothing after this
  state.importanceAt = 0;
  state.drawn = null;
  state.history = null;
  trialState.offset = 0;
  trialState.curves.clear();
  $("#trials tbody").replaceChildren();  // nothing of the last experiment stays on screen
  $("#charts").hidden = true;
  $("#trial-detail").hidden = true;
  $("#logs").hidden = true;
  refresh();
}

function summary(e, h) {
  const c = e.counts || {};
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const parts = ["completed", "running", "stopped", "failed"].filter((s) => c[s]).map((s) => `${c[s]} ${s}`);
  const last = h && h.data.length ? h.data[h.data.length - 1].best : null;
  const best = last === null ? (c.completed ? "no completed trial with a value" : "no completed trial yet")
    : `best ${e.primary_metric}=${fmt(last)}`;
  return `${e.status}${e.job_status ? ` (Ray job ${e.job_status.toLowerCase()})` : ""} · ${total} trials`
    + `${parts.length ? ` (${parts.join(", ")})` : ""} · ${best}`
    + (e.best_params ? ` with ${JSON.stringify(e.best_params)}` : "")
    + ` · ${duration(e.duration_s)}` + (cost(e) ? ` · ${cost(e)}` : "") + (e.error ? ` · error: ${e.error}` : "");
}

async function refreshDetail() {
  if (!state.selected) return;
  const id = encodeURIComponent(state.selected), picked = state.picked;
  let e;
  try {
    e = await api(`/experiments/${id}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    $("#detail").hidden = false;  // a job just submitted: its driver has not written to the lake yet
    $("#detail-title").textContent = state.selected;
    $("#detail-status").textContent = "waiting for the Ray job to start";
    return;
  }
  state.experiment = e;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `${e.name || ""} ${e.experiment_id}`;
  $("#stop").disabled = !LIVE.has(e.status);
  await drawPareto(id);
  const signature = JSON.stringify([e.experiment_id, e.status, e.counts, e.best_value]);
  if (!e.created_at) {  // the Ray job's alone: its driver has not written (or never wrote) to the lake
    $("#detail-status").textContent = summary(e, null);
    return;
  }
  if (signature !== state.drawn || LIVE.has(e.status)) {
    const history = await api(`/experiments/${id}/history`);
    if (picked !== state.picked) return;  // picked again meanwhile: the next refresh draws
    state.history = history;
    $("#charts").hidden = false;
    await drawCharts(id, signature !== state.drawn);
    if (picked !== state.picked) return;
    state.drawn = signature;
  }
  $("#detail-status").textContent = summary(e, state.history);
  await refreshTrials(state.selected, state.history);
  if (!$("#logs").hidden && LIVE.has(e.status)) await showLogs(false);
}

async function drawCharts(id, slowToo) {
  const h = state.history;
  $("#map-metric").textContent = h.metric || "value";
  if (h.data.length) charts.draw($("#chart-history"), charts.historyOption(h));
  else charts.empty($("#chart-history"), "no trials yet");
  await drawCurves();
  fillAxes(h.params);
  await drawMap();
  if (h.params.length && h.data.some((p) => p.value !== null)) {
    charts.draw($("#chart-parallel"), charts.parallelOption(h));
    $("#chart-slices").style.height = `${Math.ceil(h.params.length / 4) * 240 + 40}px`;
    charts.draw($("#chart-slices"), charts.slicesOption(h));
  } else {
    charts.empty($("#chart-parallel"), "no trials with a value yet");
    charts.empty($("#chart-slices"), "no trials with a value yet");
  }
  // importance is the slow one (seconds for a thousand trials): while a run goes on, at most every 30 s
  if (slowToo && (!LIVE.has(state.experiment.status) || Date.now() - state.importanceAt > 30_000)) {
    state.importanceAt = Date.now();
    await drawImportance();
  }
  await drawLeaderboard(id, h);
}

async function drawPareto(id) {  // a search of several metrics: the trials no other beats on all of them
  const objectives = state.experiment.objectives || [];
  $("#pareto").hidden = objectives.length < 2;
  if (objectives.length < 2) return;
  const front = await api(`/experiments/${id}/pareto`);
  $("#pareto-objectives").textContent = objectives.map((o) => `${o.metric} (${o.mode})`).join(", ");
  const body = $("#pareto-table tbody");
  body.replaceChildren();
  for (const p of front.data) {
    const tr = document.createElement("tr");
    cell(tr, p.trial_id);
    cell(tr, objectives.map((o, i) => `${o.metric}=${fmt(p.objectives[i])}`).join(", "));
    cell(tr, Object.entries(p.params).map(([k, v]) => `${k}=${fmt(v)}`).join(", "));
    body.appendChild(tr);
  }
}

async function drawCurves() {
  const chosen = [...trialState.curves];
  $("#curves-note").textContent = chosen.length ? `${chosen.length} ticked in the table` : "trials with the most reports; tick trials in the table to choose";
  const curves = await api(`/experiments/${encodeURIComponent(state.selected)}/curves?${query({ limit: 20, trial: chosen })}`);
  if (curves.data.length) charts.draw($("#chart-curves"), charts.curvesOption(curves));
  else charts.empty($("#chart-curves"), "no intermediate reports yet");
}

function fillAxes(params) {
  const names = params.map((a) => a.name);
  for (const [sel, index] of [["#map-x", 0], ["#map-y", 1]]) {
    const select = $(sel);
    const current = select.value;
    if ([...select.options].map((o) => o.value).join() !== names.join()) {
      select.replaceChildren(...names.map((p) => new Option(p, p)));
      select.value = names.includes(current) ? current : names[Math.min(index, names.length - 1)] || "";
    }
  }
}

async function drawMap() {
  const x = $("#map-x").value, y = $("#map-y").value;
  if (!x || !y) { charts.empty($("#chart-map"), "no parameters to map"); return; }
  const m = await api(`/experiments/${encodeURIComponent(state.selected)}/map?${query({ x, y, bins: 10 })}`);
  if (m.data.length) charts.draw($("#chart-map"), charts.mapOption(m));
  else charts.empty($("#chart-map"), "no trials with a value yet");
}

async function drawImportance() {
  const evaluator = $("#importance-evaluator").value;
  const i = await api(`/experiments/${encodeURIComponent(state.selected)}/importance?${query({ evaluator })}`);
  $("#importance-note").textContent = i.note ? i.note : `from ${i.trials} completed trials`;
  if (i.data.length) charts.draw($("#chart-importance"), charts.importanceOption(i));
  else charts.empty($("#chart-importance"), "not enough completed trials yet");
}

async function drawLeaderboard(id, h) {
  const automl = h.params.some((a) => a.name === "family");
  $("#leaderboard-panel").hidden = !automl;
  if (!automl) return;
  const board = await api(`/experiments/${id}/leaderboard`);
  const body = $("#leaderboard tbody");
  body.replaceChildren();
  for (const f of board.data) {
    const tr = document.createElement("tr");
    [f.family, fmt(f.best), f.trials, f.completed, f.best_trial_id || "", fmt(f.best_folds), fmt(f.best_params)].forEach((v) => cell(tr, v));
    body.appendChild(tr);
  }
  const started = await api(`/experiments/${id}/proposals`);
  $("#proposals-note").textContent = started.warm_start ? `${started.data.length} proposals of the meta-model`
    : "(cold start: the default configuration)";
  $("#proposals tbody").replaceChildren(...started.data.map((p) => {
    const tr = document.createElement("tr");
    const evidence = p.evidence.map((e) => e.why || `${e.dataset} (score ${fmt(e.score)}, distance ${fmt(e.distance)})`);
    [fmt(p.config), p.trial_id || "not run", p.status || "", fmt(p.value), evidence.join("; ")].forEach((v) => cell(tr, v));
    return tr;
  }));
}

async function showLogs(toggle = true) {
  const box = $("#logs");
  if (toggle && !box.hidden) { box.hidden = true; return; }
  try {
    box.textContent = await api(`/experiments/${encodeURIComponent(state.selected)}/logs`) || "(no output yet)";
  } catch (e) { box.textContent = e.message; }
  box.hidden = false;
  box.scrollTop = box.scrollHeight;
}

async function stop() {
  if (!confirm(`Stop ${state.selected}? Its running trials are ended and recorded as stopped.`)) return;
  try {
    const answer = await api(`/experiments/${encodeURIComponent(state.selected)}/stop`, { method: "POST" });
    say(answer.stopped ? `stopping ${state.selected}` : `${state.selected} had already ended`, "ok");
    refresh();
  } catch (e) { say(e.message, "error"); }
}

function specBody() {
  const text = $("#spec").value;
  const json = text.trim().startsWith("{");
  return { method: "POST", body: text, headers: { "Content-Type": json ? "application/json" : "application/yaml" } };
}

async function validate() {
  try {
    const check = await api("/experiments/validate", specBody());
    say(`valid: ${check.name}, ${check.trials} trials`, "ok");
  } catch (e) { say(e.message, "error"); }
}

async function submit() {
  try {
    const created = await api("/experiments", specBody());
    say(`submitted ${created.experiment_id} (Ray job ${created.job_id})`, "ok");
    show("experiments");
    select(created.experiment_id);
  } catch (e) { say(e.message, "error"); }
}

export function show(view) {
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.view === view);
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  if (view === "warmstart") showRegret().catch((e) => say(e.message, "error"));
  window.dispatchEvent(new Event("resize"));
}

function sortList(th) {
  const l = state.list;
  l.order = l.sort === th.dataset.sort && l.order === "desc" ? "asc" : "desc";
  l.sort = th.dataset.sort;
  l.offset = 0;
  for (const other of document.querySelectorAll("#experiments th")) other.className = "";
  th.className = `sorted-${l.order}`;
  refreshList();
}

let refreshing = false, again = false;
async function refresh() {
  if (!token()) { say("enter the API token (tunelake serve prints it)", "error"); return; }
  if (refreshing) { again = true; return; }  // once this one ends, so a click is never lost
  refreshing = true;
  try {
    await refreshList();
    await refreshDetail();
  } catch (e) {
    say(e.status === 401 ? "the token was refused" : e.message, "error");
  } finally {
    refreshing = false;
    if (again) { again = false; refresh(); }
  }
}

function init() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  $("#token").value = fromHash || localStorage.getItem("tunelake-token") || "";
  $("#token").addEventListener("change", () => { localStorage.setItem("tunelake-token", token()); refresh(); });
  if (fromHash) localStorage.setItem("tunelake-token", fromHash);
  for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => show(button.dataset.view));
  for (const th of document.querySelectorAll("#experiments th[data-sort]")) th.addEventListener("click", () => sortList(th));
  let typing;
  $("#search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.list.q = $("#search").value; state.list.offset = 0; refreshList(); }, 250);
  });
  $("#validate").addEventListener("click", validate);
  $("#submit").addEventListener("click", submit);
  $("#spec-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) $("#spec").value = await file.text();
  });
  $("#map-x").addEventListener("change", drawMap);
  $("#map-y").addEventListener("change", drawMap);
  $("#importance-evaluator").addEventListener("change", drawImportance);
  $("#stop").addEventListener("click", stop);
  $("#show-logs").addEventListener("click", () => showLogs(true));
  $("#compare-selected").addEventListener("click", () => compareTicked([...state.ticked], show));
  setupTrials(() => state.history, drawCurves);
  setupSql();
  window.addEventListener("resize", () => {
    for (const el of document.querySelectorAll(".chart")) { const c = echarts.getInstanceByDom(el); if (c) c.resize(); }
  });
  refresh();
  setInterval(refresh, 3000);
}

init();
