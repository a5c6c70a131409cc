// The REST API as the page uses it: the token, JSON in and out, errors as messages. Nothing from the network
// beyond this service.
"use strict";

export const $ = (sel) => document.querySelector(sel);

export function token() { return $("#token").value.trim(); }

export async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* plain text */ }
  if (!response.ok) {
    const detail = body && body.detail !== undefined ? body.detail : body;
    const message = Array.isArray(detail)
      ? detail.map((d) => (typeof d === "string" ? d : `${(d.loc || []).join(".")}: ${d.msg}`)).join("\n")
      : (typeof detail === "string" ? detail : JSON.stringify(detail));
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  const skipped = response.headers.get("X-Tunelake-Skipped-Files");
  if (skipped) {  // the answer is partial: the lake holds files that could not be read
    say(`left out ${JSON.parse(skipped).join(", ")} (damaged); run: tunelake lake check --quarantine`, "error");
  }
  return body;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const item of Array.isArray(v) ? v : [v]) if (item !== "" && item !== null && item !== undefined) search.append(k, item);
  }
  return search.toString();
}

export function say(text, kind) {
  const box = $("#message");
  box.textContent = text;
  box.className = `message ${kind || ""}`;
}

export function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function cost(e) {
  if (e.cpu_hours === null || e.cpu_hours === undefined) return "";
  const short = (x) => String(Number(x.toPrecision(3)));
  const hours = `${short(e.cpu_hours)} CPU-h` + (e.gpu_hours ? `, ${short(e.gpu_hours)} GPU-h` : "");
  if (e.cost_usd === null || e.cost_usd === undefined) return hours;
  const dollars = e.cost_usd >= 0.01 ? e.cost_usd.toFixed(2) : short(e.cost_usd);  // as the CLI writes it
  return `${hours}, $${dollars} on-demand (${e.price_table})`;
}

export function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "";
}

export function cell(row, text, cls, tag = "td") {
  const td = document.createElement(tag);
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

export function pager(box, offset, limit, count, go) {
  box.replaceChildren();
  const prev = document.createElement("button"), next = document.createElement("button");
  prev.textContent = "‹ previous"; next.textContent = "next ›";
  prev.className = "prev"; next.className = "next";
  prev.disabled = offset <= 0; next.disabled = offset + limit >= count;
  prev.addEventListener("click", () => go(Math.max(0, offset - limit)));
  next.addEventListener("click", () => go(offset + limit));
  const note = document.createElement("span");
  note.textContent = count ? `${offset + 1}–${Math.min(count, offset + limit)} of ${count}` : "none";
  box.append(prev, note, next);
}
