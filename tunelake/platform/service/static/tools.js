// Across experiments: compare two to five of them, and the SQL console (results as a table, CSV download).
"use strict";

import { $, api, cell, fmt, query, say } from "./api.js";
import * as charts from "./charts.js";

export async function compareTicked(ids, show) {
  if (ids.length < 2 || ids.length > 5) { say(`tick 2 to 5 experiments to compare (${ids.length} ticked)`, "error"); return; }
  show("compare");
  try {
    const answer = await api(`/compare?${query({ ids })}`);
    charts.draw($("#chart-compare"), charts.compareOption(answer.data));
    table(answer.data);
  } catch (e) { say(e.message, "error"); }
}

function table(items) {
  const head = document.createElement("tr");
  cell(head, "", "", "th");
  for (const e of items) cell(head, e.experiment_id, "", "th");
  $("#compare-table thead").replaceChildren(head);
  const params = [...new Set(items.flatMap((e) => Object.keys(e.best_params || {})))];
  const rows = [["metric", (e) => `${e.metric} (${e.mode})`], ["best value", (e) => fmt(e.best_value)],
    ["best trial", (e) => e.best_trial_id || ""], ["trials", (e) => String(e.data.length)],
    ...params.map((p) => [p, (e) => fmt((e.best_params || {})[p])])];
  $("#compare-table tbody").replaceChildren(...rows.map(([label, value]) => {
    const tr = document.createElement("tr");
    cell(tr, label, "label");
    for (const e of items) cell(tr, value(e));
    return tr;
  }));
}

let last = null;

function csvField(v) {
  const text = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function run() {
  try {
    last = await api("/sql", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: $("#sql-text").value }) });
  } catch (e) { say(e.message, "error"); return; }
  const head = document.createElement("tr");
  for (const c of last.columns) cell(head, c, "", "th");
  $("#sql-result thead").replaceChildren(head);
  $("#sql-result tbody").replaceChildren(...last.rows.map((r) => {
    const tr = document.createElement("tr");
    for (const v of r) cell(tr, fmt(v));
    return tr;
  }));
  $("#sql-note").textContent = `${last.rows.length} rows${last.truncated ? " (truncated at the service's limit)" : ""}`;
  $("#sql-csv").disabled = false;
}

function download() {
  const lines = [last.columns, ...last.rows].map((r) => r.map(csvField).join(","));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
  link.download = "tunelake-query.csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

export function setupSql() {
  $("#sql-run").addEventListener("click", run);
  $("#sql-csv").addEventListener("click", download);
  $("#sql-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(); });
}

export async function showRegret() {
  const r = await api("/warmstart/regret");
  if (r.datasets.length) charts.draw($("#chart-regret"), charts.regretOption(r));
  else charts.empty($("#chart-regret"), "no dataset has both a warm-started and a cold AutoML run yet");
  $("#regret-datasets tbody").replaceChildren(...r.datasets.map((d) => {
    const tr = document.createElement("tr");
    cell(tr, d.name ? `${d.name} (${d.dataset_id})` : d.dataset_id || "");
    cell(tr, d.warm.join(", "));
    cell(tr, d.cold.join(", "));
    return tr;
  }));
}
