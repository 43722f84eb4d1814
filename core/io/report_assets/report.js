// tokenfab report: draws the embedded JSON (no libraries, works offline).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const VENDOR_COLOURS = {
    nvidia: "#76b900", amd: "#ed1c24", groq: "#7c3aed", cerebras: "#f59e0b", tpu: "#4285f4", trainium: "#232f3e",
  };
  const FALLBACK = ["#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#9467bd"];
  const PREFIXES = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"]];

  function colour(backend) {
    const vendor = backend.split(":")[0];
    if (vendor in VENDOR_COLOURS) return VENDOR_COLOURS[vendor];
    let sum = 0;
    for (const ch of vendor) sum += ch.charCodeAt(0);
    return FALLBACK[sum % FALLBACK.length];
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    const abs = Math.abs(value);
    if (abs === 0) return "0";
    for (const [scale, prefix] of PREFIXES) {
      if (abs >= scale * 0.9995 || scale === 1e-6) {
        const scaled = value / scale;
        return (Math.abs(scaled) >= 100 ? scaled.toFixed(0) : scaled.toPrecision(3)) + prefix;
      }
    }
    return String(value);
  }

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 1) return value.toPrecision(3) + " s";
    if (value >= 1e-3) return (value * 1e3).toPrecision(3) + " ms";
    return (value * 1e6).toPrecision(3) + " µs";
  }

  function dollars(value) {
    if (value === null || value === undefined) return "no price";
    return "$" + (value >= 100 ? value.toFixed(0) : value.toPrecision(3));
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  // -- header --------------------------------------------------------------------------------
  const wl = data.workload;
  document.getElementById("title").textContent = "tokenfab report: " + data.model;
  const slo = [];
  if (data.slo.ttft_s !== null) slo.push("TTFT ≤ " + seconds(data.slo.ttft_s));
  if (data.slo.tpot_s !== null) slo.push("TPOT ≤ " + seconds(data.slo.tpot_s) + " (" + number(1 / data.slo.tpot_s) + " tok/s/user)");
  document.getElementById("summary").textContent =
    wl.input_tokens + " input / " + wl.output_tokens + " output tokens per request" +
    (wl.rate ? ", " + wl.rate + " requests/s" : "") + "; SLO: " + (slo.join(", ") || "none") +
    (wl.rate ? " at p" + data.slo.percentile : "") + "; ranked by " + data.objective + ".";

  // -- Pareto chart --------------------------------------------------------------------------
  function axis(values, lo, hi) {
    const positive = values.filter((v) => v > 0);
    let min = Math.min(...positive), max = Math.max(...positive);
    const log = max / min > 10;
    if (min === max) { min = min / 2; max = max * 2; }
    const f = log ? Math.log10 : (v) => v;
    const a = f(min) - (log ? 0.05 : 0), b = f(max) + (log ? 0.05 : 0);
    const scale = (v) => lo + (f(v) - a) / (b - a) * (hi - lo);
    let ticks = [];
    if (log) {
      for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
        const t = Math.pow(10, e);
        if (f(t) >= a && f(t) <= b) ticks.push(t);
      }
    } else {
      const step = Math.pow(10, Math.floor(Math.log10((max - min) || 1)));
      for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
    }
    return { scale, ticks, log };
  }

  function drawPareto() {
    const chart = document.getElementById("pareto-chart");
    const legend = document.getElementById("pareto-legend");
    const tip = document.getElementById("tooltip");
    const metric = data.pareto.metric;
    const rows = data.pareto.rows.filter((r) => r[metric] !== null);
    const series = {};
    for (const r of rows) (series[r.backend] = series[r.backend] || []).push(r);
    if (!rows.length) return;
    const W = 900, H = 460, L = 70, R = 20, T = 16, B = 46;
    const x = axis(rows.map((r) => r.tokens_per_s_per_user), L, W - R);
    const y = axis(rows.map((r) => r[metric]), H - B, T);
    const grid = svg("g", { class: "grid axis" });
    for (const t of x.ticks) {
      grid.appendChild(svg("line", { x1: x.scale(t), x2: x.scale(t), y1: T, y2: H - B }));
      const label = svg("text", { x: x.scale(t), y: H - B + 16, "text-anchor": "middle" });
      label.textContent = number(t);
      grid.appendChild(label);
    }
    for (const t of y.ticks) {
      grid.appendChild(svg("line", { x1: L, x2: W - R, y1: y.scale(t), y2: y.scale(t) }));
      const label = svg("text", { x: L - 6, y: y.scale(t) + 4, "text-anchor": "end" });
      label.textContent = metric === "usd_per_mtok" ? dollars(t) : number(t);
      grid.appendChild(label);
    }
    const xl = svg("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" });
    xl.textContent = "output tokens/s per user (1 / TPOT)" + (x.log ? ", log scale" : "");
    const yl = svg("text", { x: 14, y: (T + H - B) / 2, transform: "rotate(-90 14 " + (T + H - B) / 2 + ")", "text-anchor": "middle" });
    yl.textContent = (metric === "usd_per_mtok" ? "$ per million output tokens" : "output tokens/s per device") + (y.log ? ", log scale" : "");
    grid.appendChild(xl);
    grid.appendChild(yl);
    chart.appendChild(grid);
    for (const [backend, points] of Object.entries(series)) {
      const g = svg("g", { class: "series", "data-backend": backend });
      const c = colour(backend);
      const d = points.map((p, i) => (i ? "L" : "M") + x.scale(p.tokens_per_s_per_user).toFixed(1) + " " + y.scale(p[metric]).toFixed(1)).join(" ");
      g.appendChild(svg("path", { d: d, stroke: c }));
      for (const p of points) {
        const dot = svg("circle", { cx: x.scale(p.tokens_per_s_per_user), cy: y.scale(p[metric]), r: 4, fill: c });
        dot.addEventListener("mousemove", (ev) => {
          tip.hidden = false;
          tip.style.left = ev.clientX + 12 + "px";
          tip.style.top = ev.clientY + 12 + "px";
          tip.textContent = backend + ": " + p.devices + " devices, " + p.weights + ", batch " + p.batch + " — " +
            number(p.tokens_per_s_per_user) + " tok/s/user, " + number(p.tokens_per_s_per_device) + " tok/s/device, " +
            dollars(p.usd_per_mtok) + "/Mtok";
        });
        dot.addEventListener("mouseleave", () => { tip.hidden = true; });
        g.appendChild(dot);
      }
      chart.appendChild(g);
      const button = el("button", { type: "button", "data-backend": backend });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = c;
      button.appendChild(swatch);
      button.appendChild(document.createTextNode(backend));
      button.addEventListener("click", () => {
        g.classList.toggle("hidden");
        button.classList.toggle("off");
      });
      legend.appendChild(button);
    }
  }

  // -- plan table ----------------------------------------------------------------------------
  const PLAN_COLUMNS = [
    ["backend", "backend", (r) => r.backend],
    ["devices", "devices", (r) => r.devices + " (tp" + r.tp + (r.ep > 1 ? " ep" + r.ep : "") + (r.pp > 1 ? " pp" + r.pp : "") + (r.replicas > 1 ? " ×" + r.replicas : "") + ")"],
    ["weights", "weights", (r) => r.weights + (r.speculative ? " +spec" : "")],
    ["batch", "batch", (r) => String(r.batch)],
    ["usd_per_mtok", "$/Mtok (output)", (r) => dollars(r.usd_per_mtok)],
    ["usd_per_mtok_in_out", "$/Mtok (in+out)", (r) => dollars(r.usd_per_mtok_in_out)],
    ["tokens_per_s_per_user", "tok/s/user", (r) => number(r.tokens_per_s_per_user)],
    ["tokens_per_s_per_device", "tok/s/device", (r) => number(r.tokens_per_s_per_device)],
    ["ttft_s", "TTFT", (r) => seconds(r.ttft_s)],
    ["tpot_s", "TPOT", (r) => seconds(r.tpot_s)],
    ["joules_per_token", "J/token", (r) => number(r.joules_per_token)],
    ["binding", "binds", (r) => r.binding],
  ];

  function drawPlan() {
    const table = document.getElementById("plan-table");
    const head = el("tr");
    for (const [, title] of PLAN_COLUMNS) head.appendChild(el("th", {}, title));
    table.tHead.appendChild(head);
    data.rows.forEach((r, i) => {
      const tr = el("tr", {
        "data-index": i, "data-backend": r.backend, "data-devices": r.devices, "data-batch": r.batch,
        "data-weights": r.weights, "data-usd-per-mtok": r.usd_per_mtok === null ? "" : String(r.usd_per_mtok),
      });
      for (const [key, , show] of PLAN_COLUMNS) tr.appendChild(el("td", { "data-key": key }, show(r)));
      tr.addEventListener("click", () => select(i));
      table.tBodies[0].appendChild(tr);
    });
    const diagnosis = document.getElementById("diagnosis");
    if (!data.rows.length) {
      diagnosis.hidden = false;
      diagnosis.textContent = "No deployment meets the SLO. " + data.diagnosis.join(" ");
    }
    document.getElementById("metric-notes").textContent =
      "$/Mtok (output): " + data.metrics.usd_per_mtok + ". $/Mtok (in+out): " + data.metrics.usd_per_mtok_in_out + ".";
  }

  // -- breakdown -----------------------------------------------------------------------------
  const BREAKDOWN_COLUMNS = [
    ["name", "operator", (o) => o.name],
    ["count", "×", (o) => String(o.count)],
    ["compute_s", "compute", (o) => seconds(o.compute_s)],
    ["memory_s", "memory", (o) => seconds(o.memory_s)],
    ["comm_s", "communication", (o) => seconds(o.comm_s)],
    ["overhead_s", "overhead", (o) => seconds(o.overhead_s)],
    ["seconds", "total", (o) => seconds(o.seconds)],
    ["bound", "bound", (o) => o.bound],
  ];

  function drawBreakdown() {
    const index = Number(document.getElementById("deployment").value);
    const phase = document.getElementById("phase").value;
    const table = document.getElementById("breakdown");
    const body = table.tBodies[0];
    body.replaceChildren();
    if (!data.breakdowns.length) return;
    for (const op of data.breakdowns[index][phase]) {
      const tr = el("tr");
      for (const [key, , show] of BREAKDOWN_COLUMNS) tr.appendChild(el("td", { "data-key": key }, show(op)));
      body.appendChild(tr);
    }
    document.querySelectorAll("#plan-table tbody tr").forEach((tr) => {
      tr.classList.toggle("selected", Number(tr.dataset.index) === index);
    });
  }

  function select(index) {
    document.getElementById("deployment").value = String(index);
    drawBreakdown();
  }

  function setupBreakdown() {
    const head = el("tr");
    for (const [, title] of BREAKDOWN_COLUMNS) head.appendChild(el("th", {}, title));
    document.getElementById("breakdown").tHead.appendChild(head);
    const chooser = document.getElementById("deployment");
    data.rows.forEach((r, i) => {
      chooser.appendChild(el("option", { value: i }, r.backend + ", " + r.devices + " devices, " + r.weights + ", batch " + r.batch));
    });
    chooser.addEventListener("change", drawBreakdown);
    document.getElementById("phase").addEventListener("change", drawBreakdown);
    drawBreakdown();
  }

  // -- assumptions and sources ---------------------------------------------------------------
  function drawAssumptions() {
    const a = data.assumptions;
    const list = document.getElementById("assumptions");
    const items = [
      "Workload: " + wl.input_tokens + " input and " + wl.output_tokens + " output tokens per request" + (wl.rate ? ", " + wl.rate + " requests/s (Poisson)" : "") + ".",
      "SLO: " + (slo.join(", ") || "none") + (wl.rate ? ", at the " + data.slo.percentile + "th percentile of a simulation" : ", in steady state") + ".",
      "Precisions (weights / activations / KV cache): " + a.precisions.map((p) => p.join(" / ")).join("; ") + ".",
      "Capex pricing (where no cloud price exists): purchase price over " + a.economics.amortization_years + " years, plus energy × PUE " + a.economics.pue + " at $" + a.economics.usd_per_kwh + "/kWh.",
    ];
    for (const text of items) list.appendChild(el("li", {}, text));
    const table = document.getElementById("prices");
    const head = el("tr");
    for (const title of ["backend", "basis used", "$/device-hour", "capex $", "provider", "date"]) head.appendChild(el("th", {}, title));
    table.tHead.appendChild(head);
    for (const [backend, p] of Object.entries(a.prices)) {
      const tr = el("tr");
      const cells = [backend, p.basis || "–", p.usd_per_device_hour === null ? "–" : "$" + p.usd_per_device_hour,
        p.capex_usd === null ? "–" : "$" + number(p.capex_usd), p.provider || "–", p.date || "–"];
      for (const text of cells) tr.appendChild(el("td", {}, text));
      table.tBodies[0].appendChild(tr);
    }
  }

  function drawSources() {
    const root = document.getElementById("sources");
    for (const [backend, figures] of Object.entries(data.sources)) {
      const details = el("details");
      details.appendChild(el("summary", {}, backend + " (" + Object.keys(figures).length + " figures)"));
      const list = el("ul");
      for (const [figure, cite] of Object.entries(figures)) list.appendChild(el("li", {}, figure + ": " + cite));
      details.appendChild(list);
      root.appendChild(details);
    }
  }

  drawPareto();
  drawPlan();
  setupBreakdown();
  drawAssumptions();
  drawSources();
})();
