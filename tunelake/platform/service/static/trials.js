// The trial table (sorted, filtered and paged by the API) and a trial's detail panel.
"use strict";

import { $, api, cell, cost, duration, fmt, pager, query, when } from "./api.js";
import * as charts from "./charts.js";

export const trialState = { experiment: null, sort: "finished_at", order: "asc", status: "", q: "", offset: 0,
  curves: new Set() };
const LIMIT = 25;
let history = () => null;
let curvesChanged = () => null;

function header(params) {
  const row = $("#trials thead tr");
  const columns = [["", "curve"], ["trial_id", "trial"], ["status", "status"], ["value", "value"],
    ...params.map((a) => [`param.${a.name}`, a.name]), ["duration_s", "duration"], ["node", "node"], ["", "reason"]];
  const key = columns.map((c) => c[0]).join();
  if (row.dataset.key === key) return;
  row.dataset.key = key;
  row.replaceChildren(...columns.map(([sort, label]) => {
    const th = document.createElement("th");
    th.textContent = label;
    if (sort) {
      th.dataset.sort = sort;
      th.addEventListener("click", () => {
        trialState.order = trialState.sort === sort && trialState.order === "asc" ? "desc" : "asc";
        trialState.sort = sort;
        trialState.offset = 0;
        refreshTrials(trialState.experiment, history());
      });
    }
    return th;
  }));
}

export async function refreshTrials(experimentId, h) {
  trialState.experiment = experimentId;
  const params = h ? h.params : [];
  header(params);
  for (const th of document.querySelectorAll("#trials th")) {
    th.className = th.dataset.sort === trialState.sort ? `sorted-${trialState.order}` : "";
  }
  const s = trialState;
  const page = await api(`/experiments/${encodeURIComponent(experimentId)}/trials?${query({
    sort: s.sort, order: s.order, status: s.status, q: s.q, offset: s.offset, limit: LIMIT })}`);
  const body = $("#trials tbody");
  body.replaceChildren();
  for (const t of page.data) {
    const tr = document.createElement("tr");
    tr.dataset.id = t.trial_id;
    const tick = document.createElement("input");
    tick.type = "checkbox"; tick.title = "show its learning curve"; tick.checked = trialState.curves.has(t.trial_id);
    tick.addEventListener("click", (event) => {
      event.stopPropagation();
      if (tick.checked) trialState.curves.add(t.trial_id); else trialState.curves.delete(t.trial_id);
      curvesChanged();
    });
    cell(tr, "").appendChild(tick);
    cell(tr, t.trial_id);
    cell(tr, t.status, `status-${t.status}`);
    cell(tr, fmt(t.value));
    for (const a of params) cell(tr, fmt(t.params[a.name]));
    cell(tr, duration(t.duration_s));
    cell(tr, t.node || "");
    cell(tr, t.reason || "");
    tr.addEventListener("click", () => openTrial(t.trial_id));
    body.appendChild(tr);
  }
  pager($("#trials-pager"), s.offset, LIMIT, page.count, (offset) => { s.offset = offset; refreshTrials(experimentId, h); });
}

export async function openTrial(trialId) {
  const experiment = trialState.experiment;
  const t = await api(`/experiments/${encodeURIComponent(experiment)}/trials/${encodeURIComponent(trialId)}`);
  $("#trial-detail").hidden = false;
  $("#trial-title").textContent = `trial ${t.trial_id}`;
  const fields = [["status", t.status + (t.reason ? ` (${t.reason})` : "")], ["value", fmt(t.value)],
    ["params", fmt(t.params)], ["metrics", fmt(t.metrics)], ["iterations", fmt(t.iterations)],
    ["node", t.node || ""], ["instance type", t.instance_type || ""], ["cost", cost(t)],
    ["started", when(t.started_at)], ["finished", when(t.finished_at)],
    ["duration", duration(t.duration_s)], ["exit code", fmt(t.exit_code)], ["signal", t.signal || ""],
    ["model", t.model_uri || ""], ["code commit", t.code_commit || ""]];
  $("#trial-fields").replaceChildren(...fields.flatMap(([k, v]) => {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = v; dd.dataset.field = k;
    return [dt, dd];
  }));
  $("#trial-stderr").textContent = t.stderr_tail || "(empty)";
  const h = history();
  if (t.curve.length) charts.draw($("#chart-trial"), charts.trialCurveOption(t, h ? h.metric : "value"));
  else charts.empty($("#chart-trial"), "no intermediate reports");
  $("#trial-detail").scrollIntoView({ block: "nearest" });
}

export function setupTrials(getHistory, onCurves) {
  history = getHistory;
  curvesChanged = onCurves;
  $("#trial-status").addEventListener("change", () => {
    trialState.status = $("#trial-status").value; trialState.offset = 0;
    refreshTrials(trialState.experiment, history());
  });
  let typing;
  $("#trial-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      trialState.q = $("#trial-search").value; trialState.offset = 0;
      refreshTrials(trialState.experiment, history());
    }, 250);
  });
  $("#trial-close").addEventListener("click", () => { $("#trial-detail").hidden = true; });
}
