// ECharts options from the API's answers. The numbers (best so far, axes and their scales, importances) come from
// the API; this file only says how each is drawn. SVG rendering: axes and legends are text a test can read.
"use strict";

const VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
const STATUS = { completed: "#2563eb", stopped: "#9ca3af", failed: "#dc2626", running: "#d97706" };
const SYMBOL = { completed: "circle", stopped: "diamond", failed: "triangle", running: "rect" };

export function draw(el, option) {
  const chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "svg" });
  chart.resize();  // the element may have changed size (the slice plots grow with the parameters)
  chart.setOption(Object.assign({ animation: false, textStyle: { fontFamily: "system-ui, sans-serif" } }, option),
    true);
  return chart;
}

export function empty(el, text) {
  return draw(el, { title: { text, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#5b6472" } } });
}

function tip(params) {
  const d = params.data || {};
  const rows = Array.isArray(d.value) ? d.value : [];
  return `${d.trial_id || params.seriesName}<br>${params.seriesName}: ${rows.slice(1).map(fmtNum).join(", ")}`;
}

function fmtNum(v) { return typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(5) : String(v); }

/** An axis of the API (``scale``: linear, log or category) as an ECharts axis named after its parameter. */
export function axisFor(axis, extra = {}, values = []) {
  const base = { name: axis.name, nameLocation: "middle", nameGap: 28, ...extra };
  if (axis.scale === "category") {
    const data = [...axis.categories];
    for (const v of values) if (!data.includes(v)) data.push(v);
    return { ...base, type: "category", data, axisTick: { alignWithLabel: true } };
  }
  return { ...base, type: axis.scale === "log" ? "log" : "value", logBase: 10, scale: true,
    minInterval: axis.integer ? 1 : 0 };
}

function metricAxis(name, extra = {}) {
  return { type: "value", scale: true, name: name ?? "value", nameLocation: "middle", nameGap: 48, ...extra };
}

function point(x, y, p) { return { value: [x, y], trial_id: p.trial_id, status: p.status }; }

export function historyOption(h) {
  const withValue = h.data.filter((p) => p.value !== null);
  const low = withValue.length ? Math.min(...withValue.map((p) => p.value)) : 0;
  const series = ["completed", "stopped"].map((s) => ({
    name: s, type: "scatter", symbol: SYMBOL[s], symbolSize: 8, itemStyle: { color: STATUS[s] },
    data: h.data.filter((p) => p.status === s && p.value !== null).map((p) => point(p.number, p.value, p)),
  }));
  series.push({ name: "failed", type: "scatter", symbol: SYMBOL.failed, symbolSize: 9, itemStyle: { color: STATUS.failed },
    data: h.data.filter((p) => p.status === "failed").map((p) => point(p.number, low, p)) });
  series.push({ name: "best so far", type: "line", step: "end", showSymbol: false, lineStyle: { width: 2 },
    itemStyle: { color: "#111827" }, data: h.data.filter((p) => p.best !== null).map((p) => [p.number, p.best]) });
  return { legend: { top: 0, data: series.map((x) => x.name) }, tooltip: { trigger: "item", formatter: tip },
    grid: { left: 64, right: 20, top: 36, bottom: 44 },
    xAxis: { type: "value", name: "trial (in start order)", nameLocation: "middle", nameGap: 28, minInterval: 1 },
    yAxis: metricAxis(`${h.metric} (${h.mode})`), series };
}

export function curvesOption(c) {
  const series = c.data.map((t) => ({
    name: t.trial_id, type: "line", showSymbol: t.points.length < 2, symbol: SYMBOL[t.status] || "circle",
    lineStyle: { type: t.status === "stopped" ? "dashed" : "solid" }, data: t.points,
    endLabel: { show: t.status === "stopped", formatter: "stopped", color: STATUS.stopped, fontSize: 10 },
  }));
  return { legend: { type: "scroll", top: 0 }, tooltip: { trigger: "item" }, grid: { left: 64, right: 60, top: 36, bottom: 44 },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 28, minInterval: 1, min: "dataMin" },
    yAxis: metricAxis(c.metric), series };
}

function colourScale(values, mode, dimension, extra = {}) {
  const lo = Math.min(...values), hi = Math.max(...values);
  return { type: "continuous", dimension, min: lo, max: hi === lo ? lo + 1e-9 : hi, calculable: true, precision: 4,
    inRange: { color: mode === "min" ? [...VIRIDIS].reverse() : VIRIDIS }, right: 0, top: "middle", ...extra };
}

export function mapOption(m) {
  const values = m.data.map((p) => p.value);
  const series = ["completed", "stopped"].map((s) => ({
    name: s, type: "scatter", symbol: SYMBOL[s], symbolSize: s === "completed" ? 16 : 13,
    itemStyle: { borderColor: s === "stopped" ? "#6b7280" : "#1d2430", borderWidth: s === "stopped" ? 1.5 : 0.6 },
    data: m.data.filter((p) => p.status === s).map((p) => ({ value: [p.x, p.y, p.value], trial_id: p.trial_id })),
  }));
  const labels = (key) => m.data.map((p) => p[key]).filter((v) => typeof v === "string");
  const xAxis = [axisFor(m.x, {}, labels("x"))], yAxis = [axisFor(m.y, { nameGap: 56 }, labels("y"))];
  if (m.grid && m.grid.cells.length) heatMap(m.grid, xAxis, yAxis, series);
  // the colour scale colours every mark, so the legend names the shapes in grey
  const legend = series.map((x) => ({ name: x.name, itemStyle: { color: "#cbd5e1", borderColor: "#6b7280" } }));
  return { legend: { top: 0, data: legend }, tooltip: { trigger: "item", formatter: tip },
    grid: { left: 80, right: 110, top: 36, bottom: 48 }, xAxis, yAxis,
    visualMap: values.length ? colourScale(values, m.mode, 2, { text: [m.metric, ""] }) : undefined, series };
}

/** The API's grid as a heat map under the points: a rectangle per cell between its bounds on the chart's own
 * axes (so equal cells on a log axis are equal factors), a category's cell its band; coloured by the best value. */
function heatMap(grid, xAxis, yAxis, series) {
  const span = (bounds, i) => (typeof bounds[0] === "string" ? [bounds[i], bounds[i]] : [bounds[i], bounds[i + 1]]);
  const data = grid.cells.map(([i, j, best, n]) => ({ value: [null, null, best, ...span(grid.x, i), ...span(grid.y, j)],
    trial_id: `${n} trial${n === 1 ? "" : "s"}, best` }));
  const side = (api, lo, hi, axis) => {  // pixel bounds of a cell along one axis
    const a = api.coord(axis === 0 ? [lo, api.value(5)] : [api.value(3), lo])[axis];
    const b = api.coord(axis === 0 ? [hi, api.value(5)] : [api.value(3), hi])[axis];
    if (lo !== hi) return [Math.min(a, b), Math.abs(b - a)];
    const band = api.size(axis === 0 ? [1, 0] : [0, 1])[axis];
    return [a - band / 2, band];
  };
  series.unshift({ name: "best per cell", type: "custom", encode: { x: [3, 4], y: [5, 6], tooltip: [2] }, data,
    renderItem: (params, api) => {
      const [x, width] = side(api, api.value(3), api.value(4), 0), [y, height] = side(api, api.value(5), api.value(6), 1);
      return { type: "rect", shape: { x, y, width, height }, style: { fill: api.visual("color"), opacity: 0.55 } };
    } });
}

export function importanceOption(i) {
  const data = [...i.data].reverse();
  return { tooltip: { trigger: "item" }, grid: { left: 110, right: 30, top: 20, bottom: 44 },
    xAxis: { type: "value", name: `importance for ${i.metric} (${i.evaluator})`, nameLocation: "middle", nameGap: 28, max: 1 },
    yAxis: { type: "category", data: data.map((d) => d.param) },
    series: [{ name: "importance", type: "bar", data: data.map((d) => d.importance), itemStyle: { color: "#2563eb" },
      label: { show: true, position: "right", formatter: (p) => p.value.toFixed(3) } }] };
}

/** Parameters every trial with a value holds (a line cannot cross an axis it has no value on), then the metric. */
export function parallelOption(h) {
  const rows = h.data.filter((p) => p.value !== null);
  const params = h.params.filter((a) => rows.every((p) => p.params[a.name] !== undefined && p.params[a.name] !== null));
  const axes = params.map((a, i) => {
    const axis = axisFor(a, { dim: i, nameLocation: "end" }, rows.map((p) => p.params[a.name]).filter((v) => typeof v === "string"));
    delete axis.nameGap; delete axis.axisTick;
    return axis;
  });
  axes.push({ dim: params.length, name: h.metric, type: "value", scale: true, nameLocation: "end" });
  const data = rows.map((p) => ({ value: [...params.map((a) => p.params[a.name]), p.value],
    lineStyle: { type: p.status === "stopped" ? "dashed" : "solid" } }));
  return { parallelAxis: axes, parallel: { left: 50, right: 170, top: 40, bottom: 30 },
    visualMap: rows.length ? colourScale(rows.map((p) => p.value), h.mode, params.length, { text: [h.metric, ""] }) : undefined,
    series: [{ name: "trials", type: "parallel", lineStyle: { width: 1.5, opacity: 0.8 }, data }] };
}

/** One scatter of the metric against each parameter, side by side (Optuna's slice plot). */
export function slicesOption(h) {
  const n = h.params.length, cols = Math.min(n, 4), rows = Math.ceil(n / cols);
  const grids = [], xAxes = [], yAxes = [], series = [];
  h.params.forEach((a, i) => {
    const col = i % cols, row = Math.floor(i / cols);
    grids.push({ left: `${col * (100 / cols) + 6}%`, width: `${100 / cols - 9}%`,
      top: `${row * (100 / rows) + 10}%`, height: `${100 / rows - 24}%` });
    xAxes.push(axisFor(a, { gridIndex: i }, h.data.map((p) => p.params[a.name]).filter((v) => typeof v === "string")));
    yAxes.push(metricAxis(col === 0 ? h.metric : "", { gridIndex: i, nameGap: 44 }));
    for (const s of ["completed", "stopped"]) {
      series.push({ name: s, type: "scatter", xAxisIndex: i, yAxisIndex: i, symbol: SYMBOL[s], symbolSize: 7,
        itemStyle: { color: STATUS[s] },
        data: h.data.filter((p) => p.status === s && p.value !== null && p.params[a.name] !== undefined)
          .map((p) => point(p.params[a.name], p.value, p)) });
    }
  });
  return { legend: { top: 0, data: ["completed", "stopped"] }, tooltip: { trigger: "item", formatter: tip },
    grid: grids, xAxis: xAxes, yAxis: yAxes, series };
}

const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed"];

export function compareOption(items) {
  const metrics = [...new Set(items.map((e) => e.metric))];
  const series = items.flatMap((e, i) => [
    { name: e.experiment_id, type: "line", step: "end", showSymbol: false, lineStyle: { width: 2 },
      itemStyle: { color: PALETTE[i % PALETTE.length] },
      data: e.data.filter((p) => p.best !== null).map((p) => [p.number, p.best]) },
    { name: e.experiment_id, type: "scatter", symbolSize: 6, itemStyle: { opacity: 0.5, color: PALETTE[i % PALETTE.length] },
      data: e.data.filter((p) => p.value !== null).map((p) => point(p.number, p.value, p)) },
  ]);
  return { legend: { top: 0, type: "scroll", data: items.map((e) => e.experiment_id) }, tooltip: { trigger: "item" },
    grid: { left: 64, right: 20, top: 40, bottom: 44 },
    xAxis: { type: "value", name: "trial (in start order)", nameLocation: "middle", nameGap: 28, minInterval: 1 },
    yAxis: metricAxis(`best ${metrics.join(" / ")} so far`), series };
}

export function regretOption(r) {
  const line = (name, values, color) => ({ name, type: "line", showSymbol: values.length < 30, itemStyle: { color },
    data: values.map((v, i) => [i + 1, v]) });
  return { legend: { top: 0, data: ["warm", "cold"] }, tooltip: { trigger: "axis" },
    grid: { left: 64, right: 20, top: 36, bottom: 44 },
    xAxis: { type: "value", name: "trials", nameLocation: "middle", nameGap: 28, minInterval: 1, min: 1 },
    yAxis: { type: "value", name: "mean normalized regret", nameLocation: "middle", nameGap: 44, min: 0 },
    series: [line("warm", r.warm, "#dc2626"), line("cold", r.cold, "#2563eb")] };
}

export function trialCurveOption(t, metric) {
  return { grid: { left: 56, right: 16, top: 16, bottom: 40 }, tooltip: { trigger: "axis" },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24, minInterval: 1, min: "dataMin" },
    yAxis: metricAxis(metric, { nameGap: 40 }),
    series: [{ name: t.trial_id, type: "line", data: t.curve, itemStyle: { color: STATUS[t.status] || "#2563eb" } }] };
}
