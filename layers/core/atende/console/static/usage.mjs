// Usage for a period (charts with their numbers as tables, for screen readers too) and the audit log.
import { html, useEffect, useRef, useState } from "./preact-htm.mjs";
import { api, enc } from "./api.mjs";
import { t } from "./i18n.mjs";
import { Heading, Notice, TextInput, useLoad, errorText, money, when } from "./ui.mjs";

const thisMonth = () => new Date().toISOString().slice(0, 7);

export function Usage() {
  const [period, setPeriod] = useState(thisMonth);
  const [report, error, reload] = useLoad(() => api("GET", `/v1/usage?period=${enc(period)}`), [period]);
  return html`<section aria-labelledby="usage-h">
    <${Heading}><span id="usage-h">${t("usage")}</span></${Heading}>
    <form class="card inline" onSubmit=${(e) => { e.preventDefault(); reload(); }}>
      <${TextInput} label=${t("period")} hint="YYYY-MM / YYYY-MM-DD" value=${period} onInput=${setPeriod} />
      <button type="submit">${t("refresh")}</button>
    </form>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    ${report && html`
      <p class="totals" data-testid="usage-totals">${t("spend")} ${money(report.spend_usd)} · ${t("turns")} <span class="requests">${report.requests}</span> · ${t("refused")} ${report.refused} · ${t("tokens")} ${report.input_tokens} → ${report.output_tokens}</p>
      <${Chart} title=${t("spend_per_day")} period=${report.period} rows=${report.by_day} series=${[["spend_usd", t("spend")]]} />
      <${Chart} title=${t("turns_per_day")} period=${report.period} rows=${report.by_day} series=${[["requests", t("turns")]]} />
      <${Chart} title=${t("tokens_per_day")} period=${report.period} rows=${report.by_day} series=${[["input_tokens", t("input_tokens")], ["output_tokens", t("output_tokens")]]} />
      <${Breakdown} title=${t("by_bot")} rows=${report.by_bot} />
      <${Breakdown} title=${t("by_model")} rows=${report.by_model} />`}
  </section>`;
}

// Every day of the period ("YYYY-MM" or "YYYY-MM-DD"), so a quiet day shows as a zero bar.
function periodDays(period, rows) {
  if (!/^\d{4}-\d{2}$/.test(period)) return Object.keys(rows || {}).sort();
  const [year, month] = period.split("-").map(Number);
  const count = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return Array.from({ length: count }, (_, i) => `${period}-${String(i + 1).padStart(2, "0")}`);
}

const axisValue = (money) => (u, splits) => splits.map((v) => (money ? "$" + Number(v.toPrecision(3)) : Number.isInteger(v) ? String(v) : ""));

// A uPlot bar chart of the period's days, with the days that have usage in a table after it.
function Chart({ title, period, rows, series }) {
  const box = useRef();
  const days = periodDays(period, rows);
  const used = days.filter((d) => rows && rows[d]);
  useEffect(() => {
    if (!box.current || !window.uPlot || days.length === 0) return undefined;
    const colors = ["#1f5fa8", "#b8560f"];
    const isMoney = series[0][0] === "spend_usd";
    const plot = new window.uPlot({
      width: Math.max(320, Math.min(900, box.current.clientWidth || 640)),
      height: 200,
      legend: { show: series.length > 1 },
      cursor: { show: false },
      series: [{}, ...series.map(([, label], i) => ({ label, stroke: colors[i], fill: colors[i] + "aa", points: { show: false }, paths: window.uPlot.paths.bars({ size: [0.7, 24] }) }))],
      axes: [
        { values: (u, splits) => splits.map((v) => (Number.isInteger(v) && days[v - 1] ? days[v - 1].slice(-2) : "")) },
        { size: 70, values: axisValue(isMoney) },
      ],
      scales: { x: { time: false, range: [0.5, days.length + 0.5] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
    }, [days.map((_, i) => i + 1), ...series.map(([key]) => days.map((d) => Number(rows?.[d]?.[key] || 0)))], box.current);
    return () => plot.destroy();
  }, [JSON.stringify(rows), period, title]);
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div ref=${box} aria-hidden="true"></div>
    <table class="list compact" aria-label=${title}>
      <thead><tr><th scope="col">${t("day")}</th>${series.map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>
      <tbody>${used.map((d) => html`<tr><th scope="row">${d}</th>${series.map(([key]) => html`<td>${key === "spend_usd" ? money(rows[d][key]) : rows[d][key]}</td>`)}</tr>`)}</tbody>
    </table>
    ${used.length === 0 && html`<p>${t("no_usage")}</p>`}
  </figure>`;
}

function Breakdown({ title, rows }) {
  const names = Object.keys(rows || {}).sort();
  return html`<table class="list" aria-label=${title}>
    <caption>${title}</caption>
    <thead><tr><th scope="col">${t("name")}</th><th scope="col">${t("turns")}</th><th scope="col">${t("spend")}</th><th scope="col">${t("input_tokens")}</th><th scope="col">${t("output_tokens")}</th></tr></thead>
    <tbody>${names.map((n) => html`<tr data-row=${n}><th scope="row">${n}</th><td class="requests">${rows[n].requests}</td><td>${money(rows[n].spend_usd)}</td><td>${rows[n].input_tokens}</td><td>${rows[n].output_tokens}</td></tr>`)}</tbody>
  </table>`;
}

const PAGE = 20;

export function Audit() {
  const [pages, setPages] = useState([null]); // the `before` cursor of each page seen
  const before = pages.at(-1);
  const [entries, error] = useLoad(() => api("GET", `/v1/audit?limit=${PAGE}` + (before ? `&before=${enc(before)}` : "")).then((r) => r.data), [before]);
  const list = entries || [];
  return html`<section aria-labelledby="audit-h">
    <${Heading}><span id="audit-h">${t("audit")}</span></${Heading}>
    <${Notice} kind="error">${errorText(error)}</${Notice}>
    <table class="list" aria-label=${t("audit")}>
      <thead><tr><th scope="col">${t("when")}</th><th scope="col">${t("actor")}</th><th scope="col">${t("action")}</th><th scope="col">${t("target")}</th><th scope="col">${t("changed")}</th></tr></thead>
      <tbody>${list.map((e) => html`<tr class="audit-entry"><td>${when(e.at)}</td><td>${e.actor}</td><td class="action">${e.action}</td><td>${e.target}</td><td>${Array.isArray(e.changed) ? e.changed.join(", ") : e.changed ? JSON.stringify(e.changed) : ""}</td></tr>`)}</tbody>
    </table>
    <div class="actions">
      <button type="button" disabled=${pages.length === 1} onClick=${() => setPages(pages.slice(0, -1))}>${t("newer")}</button>
      <button type="button" disabled=${list.length < PAGE} onClick=${() => setPages([...pages, list.at(-1).at])}>${t("older")}</button>
    </div>
  </section>`;
}
