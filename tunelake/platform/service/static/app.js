// The tunelake page: submit a spec, follow experiments, look at their trials.
// Plain JavaScript against the REST API; no build step, nothing from the network.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { selected: null, trials: [], experiment: null };

function token() { return $("#token").value.trim(); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* plain text */ }
  if (!response.ok) {
    const detail = body && body.detail !== undefined ? body.detail : body;
    const error = new Error(Array.isArray(detail) ? detail.join("\n") : (typeof detail === "string" ? detail : JSON.stringify(detail)));
    error.status = response.status;
    throw error;
  }
  const skipped = response.headers.get("X-Tunelake-Skipped-Files");
  if (skipped) {  // the answer is partial: the lake holds files that could not be read
    say(`left out ${JSON.parse(skipped).join(", ")} (damaged); run: tunelake lake check --quarantine`, "error");
  }
  return body;
}

function say(text, kind) {
  const box = $("#message");
  box.textContent = text;
  box.className = `message ${kind || ""}`;
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
    state.selected = created.experiment_id;
    refresh();
  } catch (e) { say(e.message, "error"); }
}

function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  return String(value);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

async function refreshList() {
  const list = await api("/experiments?limit=100");
  const body = $("#experiments tbody");
  body.replaceChildren();
  for (const e of list.data) {
    const tr = document.createElement("tr");
    tr.dataset.id = e.experiment_id;
    if (e.experiment_id === state.selected) tr.classList.add("selected");
    const c = e.counts || {};
    const done = (c.completed || 0) + (c.failed || 0) + (c.stopped || 0);
    cell(tr, e.experiment_id);
    cell(tr, e.job_status && e.status === "running" ? `${e.status} (${e.job_status.toLowerCase()})` : e.status,
         `status-${e.status}`);
    cell(tr, `${done}/${e.num_samples || "?"}${c.running ? ` · ${c.running} running` : ""}${c.failed ? ` · ${c.failed} failed` : ""}`);
    cell(tr, e.best_value === null || e.best_value === undefined ? "" : `${e.primary_metric}=${fmt(e.best_value)}`);
    tr.addEventListener("click", () => { state.selected = e.experiment_id; refresh(); });
    body.appendChild(tr);
  }
}

async function refreshDetail() {
  if (!state.selected) return;
  let e, trials;
  try {
    e = await api(`/experiments/${encodeURIComponent(state.selected)}`);
    trials = e.status === "submitted" ? { data: [], count: 0 }
      : await api(`/experiments/${encodeURIComponent(state.selected)}/trials?limit=5000&sort=finished_at&order=asc`);
  } catch (error) {
    if (error.status !== 404) throw error;
    $("#detail").hidden = false;  // a job just submitted: its driver has not written to the lake yet
    $("#detail-title").textContent = state.selected;
    $("#detail-status").textContent = "waiting for the Ray job to start";
    return;
  }
  state.experiment = e;
  state.trials = trials.data;
  $("#detail").hidden = false;
  $("#detail-title").textContent = `${e.name || ""} ${e.experiment_id}`;
  const c = e.counts || {};
  const best = e.best_value === null || e.best_value === undefined ? "no completed trial yet"
    : `best ${e.primary_metric}=${fmt(e.best_value)} with ${JSON.stringify(e.best_params)}`;
  $("#detail-status").textContent = `${e.status}${e.job_status ? ` (Ray job ${e.job_status.toLowerCase()})` : ""} · `
    + `${c.completed || 0} completed, ${c.running || 0} running, ${c.stopped || 0} stopped, ${c.failed || 0} failed · ${best}`
    + (e.error ? ` · error: ${e.error}` : "");
  $("#map-metric").textContent = e.primary_metric || "value";
  fillAxes(e.params || []);
  const body = $("#trials tbody");
  body.replaceChildren();
  for (const t of trials.data) {
    const tr = document.createElement("tr");
    cell(tr, t.trial_id);
    cell(tr, t.status, `status-${t.status}`);
    cell(tr, fmt(t.value));
    cell(tr, Object.entries(t.params).map(([k, v]) => `${k}=${fmt(v)}`).join(", "));
    cell(tr, t.reason || "");
    body.appendChild(tr);
  }
  drawBestSoFar();
  drawMap();
  await drawPareto(e);
}

async function drawPareto(e) {  // a search of several metrics: the trials no other beats on all of them
  const objectives = e.objectives || [];
  $("#pareto").hidden = objectives.length < 2;
  if (objectives.length < 2) return;
  const front = await api(`/experiments/${encodeURIComponent(e.experiment_id)}/pareto`);
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

function fillAxes(params) {
  for (const [id, index] of [["#map-x", 0], ["#map-y", 1]]) {
    const select = $(id);
    const current = select.value;
    if (select.options.length !== params.length) {
      select.replaceChildren(...params.map((p) => new Option(p, p)));
      select.value = params[Math.min(index, params.length - 1)] || "";
    } else if (current) {
      select.value = current;
    }
  }
}

const SVG = "http://www.w3.org/2000/svg";
function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawBestSoFar() {
  const svg = $("#chart");
  svg.replaceChildren();
  const maximize = (state.experiment.mode || "max") === "max";
  const done = state.trials.filter((t) => t.status === "completed" && t.value !== null);
  if (!done.length) { svg.appendChild(el("text", { x: 20, y: 130 }, "no completed trials yet")); return; }
  let best = null;
  const points = done.map((t, i) => {
    best = best === null ? t.value : (maximize ? Math.max(best, t.value) : Math.min(best, t.value));
    return [i + 1, best, t.value];
  });
  const values = points.flatMap((p) => [p[1], p[2]]);
  const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
  const x = (i) => 40 + (i - 1) / Math.max(1, points.length - 1) * 360;
  const y = (v) => 230 - (v - lo) / span * 200;
  svg.appendChild(el("line", { x1: 40, y1: 230, x2: 400, y2: 230, stroke: "#9aa3af" }));
  svg.appendChild(el("text", { x: 2, y: 34 }, fmt(hi)));
  svg.appendChild(el("text", { x: 2, y: 232 }, fmt(lo)));
  svg.appendChild(el("text", { x: 180, y: 252 }, "completed trials"));
  for (const [i, , v] of points) svg.appendChild(el("circle", { cx: x(i), cy: y(v), r: 2.5, fill: "#cbd5e1" }));
  svg.appendChild(el("polyline", { points: points.map(([i, b]) => `${x(i)},${y(b)}`).join(" "),
    fill: "none", stroke: "#2563eb", "stroke-width": 2 }));
}

function color(t) {  // dark blue (worst) to yellow (best)
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const s = Math.max(0, Math.min(1, t)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(s)), f = s - i;
  return `rgb(${stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c))).join(",")})`;
}

function axis(values) {
  const numeric = values.every((v) => typeof v === "number");
  if (!numeric) {
    const levels = [...new Set(values.map(String))].sort();
    return { pos: (v) => (levels.indexOf(String(v)) + 0.5) / levels.length, ticks: levels.map((l, i) => [(i + 0.5) / levels.length, l]) };
  }
  const lo = Math.min(...values), hi = Math.max(...values);
  const log = lo > 0 && hi / lo > 100;
  const f = log ? Math.log10 : (v) => v;
  const a = f(lo), b = f(hi), span = b - a || 1;
  return { pos: (v) => (f(v) - a) / span, ticks: [[0, fmt(lo)], [1, fmt(hi)]], log };
}

function drawMap() {
  const svg = $("#map");
  svg.replaceChildren();
  const px = $("#map-x").value, py = $("#map-y").value;
  const done = state.trials.filter((t) => t.status === "completed" && t.value !== null && px in t.params && py in t.params);
  if (!done.length) { svg.appendChild(el("text", { x: 20, y: 150 }, "no completed trials to map yet")); return; }
  const ax = axis(done.map((t) => t.params[px])), ay = axis(done.map((t) => t.params[py]));
  const vals = done.map((t) => t.value);
  const maximize = (state.experiment.mode || "max") === "max";
  const X = (p) => 50 + p * 340, Y = (p) => 260 - p * 240;  // p: position in [0, 1] along the axis
  svg.appendChild(el("rect", { x: 50, y: 20, width: 340, height: 240, fill: "none", stroke: "#9aa3af" }));
  for (const [p, label] of ax.ticks) svg.appendChild(el("text", { x: X(p), y: 276, "text-anchor": "middle" }, label));
  for (const [p, label] of ay.ticks) svg.appendChild(el("text", { x: 2, y: Y(p) + 3 }, label));
  svg.appendChild(el("text", { x: 190, y: 294 }, px + (ax.log ? " (log)" : "")));
  svg.appendChild(el("text", { x: 2, y: 12 }, py + (ay.log ? " (log)" : "")));
  const ranked = [...vals].sort((a, b) => a - b);  // colour by rank: one outlier must not wash out the rest
  for (const t of done) {
    const score = ranked.length < 2 ? 1 : ranked.indexOf(t.value) / (ranked.length - 1);
    const dot = el("circle", { cx: X(ax.pos(t.params[px])), cy: Y(ay.pos(t.params[py])), r: 7,
      fill: color(maximize ? score : 1 - score), stroke: "#1d2430", "stroke-width": 0.5, class: "map-point" });
    dot.appendChild(el("title", {}, `${t.trial_id}: ${fmt(t.value)}`));
    svg.appendChild(dot);
  }
}

async function refresh() {
  if (!token()) { say("enter the API token (tunelake serve prints it)", "error"); return; }
  try {
    await refreshList();
    await refreshDetail();
  } catch (e) {
    say(e.status === 401 ? "the token was refused" : e.message, "error");
  }
}

function init() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  $("#token").value = fromHash || localStorage.getItem("tunelake-token") || "";
  $("#token").addEventListener("change", () => { localStorage.setItem("tunelake-token", token()); refresh(); });
  if (fromHash) localStorage.setItem("tunelake-token", fromHash);
  $("#validate").addEventListener("click", validate);
  $("#submit").addEventListener("click", submit);
  $("#spec-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) $("#spec").value = await file.text();
  });
  $("#map-x").addEventListener("change", drawMap);
  $("#map-y").addEventListener("change", drawMap);
  refresh();
  setInterval(refresh, 2000);
}

init();
