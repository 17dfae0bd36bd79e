// cloudtwin report: draws the time series of the JSON block #cloudtwin-data as SVG.
// Hover a chart for its values; drag across one to zoom every chart to that span;
// double-click (or "reset zoom") to see the whole run again. No network, no library.
"use strict";
(() => {
  const D = JSON.parse(document.getElementById("cloudtwin-data").textContent);
  const C = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
  const W = 760, H = 210, L = 58, R = 28, T = 8, B = 26, PW = W - L - R, PH = H - T - B;
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
  let view = [0, D.end];
  const tip = document.getElementById("tip");
  const charts = [...document.querySelectorAll(".ts")];

  const hms = (s) => {
    s = Math.round(s);
    const p = (x) => String(x).padStart(2, "0");
    return `${Math.floor(s / 3600)}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  };
  const fmt = (v) => {
    const a = Math.abs(v);
    if (a >= 1e9) return +(v / 1e9).toPrecision(3) + "G";
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + "k";
    return a >= 100 ? Math.round(v).toLocaleString("en") : String(+v.toPrecision(3));
  };
  const nice = (r) => {
    const m = 10 ** Math.floor(Math.log10(r));
    return [1, 2, 2.5, 5, 10].find((k) => r <= k * m) * m;
  };
  // The span a sample stands for: an aggregate covers its minute [t, t + step); a level,
  // read at the end of its minute, holds from that instant until the next reading.
  const span = (kind, i) => {
    const a = D.t[i] + (kind === "level" ? D.step : 0);
    return [a, a + D.step];
  };
  const at = (kind, x) => Math.floor(x / D.step) - (kind === "level" ? 1 : 0);

  function draw(el) {
    const c = D.charts[el.dataset.i], [v0, v1] = view;
    const sx = (x) => (L + (PW * (x - v0)) / (v1 - v0)).toFixed(1);
    let top = 0;
    for (const s of c.series) s.v.forEach((v, i) => {
      const [a, b] = span(s.kind, i);
      if (v !== null && b > v0 && a < v1) top = Math.max(top, v * c.scale);
    });
    const ys = nice(top > 0 ? (top * 1.05) / 4 : 0.25), yt = ys * Math.max(1, Math.ceil((top * 1.05) / ys));
    const sy = (v) => (T + PH * (1 - v / yt)).toFixed(1);
    let o = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><defs><clipPath id="k${el.dataset.i}">` +
      `<rect x="${L}" y="${T}" width="${PW}" height="${PH}"/></clipPath></defs><g clip-path="url(#k${el.dataset.i})">`;
    for (const f of D.shades) {
      const a = sx(f.a);
      o += f.b === null ? `<line x1="${a}" x2="${a}" y1="${T}" y2="${T + PH}" class="${f.kind}"/>`
        : `<rect x="${a}" width="${Math.max(sx(f.b) - a, 1)}" y="${T}" height="${PH}" class="${f.kind}"/>`;
    }
    c.series.forEach((s, k) => {
      let d = "", up = true;
      s.v.forEach((v, i) => {
        if (v === null) { up = true; return; }
        const [a, b] = span(s.kind, i);
        d += `${up ? "M" : "L"}${sx(a)} ${sy(v * c.scale)}H${sx(b)}`;
        up = false;
      });
      o += `<path d="${d}" stroke="${C[k % C.length]}"/>`;
    });
    o += "</g>";
    for (let v = 0; v <= yt + ys / 2; v += ys)
      o += `<line x1="${L}" x2="${L + PW}" y1="${sy(v)}" y2="${sy(v)}" class="grid"/>` +
        `<text x="${L - 5}" y="${+sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`;
    const xs = STEPS.find((s) => s >= (v1 - v0) / 7) || STEPS[STEPS.length - 1];
    for (let x = Math.ceil(v0 / xs) * xs; x <= v1; x += xs)
      o += `<text x="${sx(x)}" y="${H - 8}" text-anchor="middle">${hms(x)}</text>`;
    el.querySelector(".plot").innerHTML = o + `<rect x="${L}" y="${T}" width="${PW}" height="${PH}" class="frame"/>` +
      `<line class="cursor" x1="-9" x2="-9" y1="${T}" y2="${T + PH}"/><rect class="sel" y="${T}" height="${PH}" width="0"/></svg>`;
  }

  const timeAt = (el, ev) => {
    const r = el.querySelector("svg").getBoundingClientRect();
    const px = ((ev.clientX - r.left) * W) / r.width;
    return [px, view[0] + ((Math.min(Math.max(px, L), L + PW) - L) / PW) * (view[1] - view[0])];
  };

  function hover(el, ev) {
    const c = D.charts[el.dataset.i], [px, x] = timeAt(el, ev);
    const line = el.querySelector(".cursor");
    line.setAttribute("x1", px); line.setAttribute("x2", px);
    tip.replaceChildren();
    const add = (text, color) => {
      const div = document.createElement("div");
      if (color) { const sw = document.createElement("span"); sw.className = "sw"; sw.style.background = color; div.append(sw); }
      div.append(text);
      tip.append(div);
    };
    add(`t = ${hms(x)}`);
    c.series.forEach((s, k) => {
      const i = at(s.kind, x), v = i >= 0 && i < s.v.length ? s.v[i] : null;
      const when = s.kind === "level" ? `at ${hms(span(s.kind, i)[0])}` : `${hms(D.t[i] ?? 0)}-${hms((D.t[i] ?? 0) + D.step)}`;
      add(`${s.name}: ${v === null ? "-" : fmt(v * c.scale) + c.suffix} (${s.kind}, ${when})`, C[k % C.length]);
    });
    for (const f of D.shades) if (x >= f.a && x <= (f.b ?? f.a)) add(`${f.kind}: ${f.label}`);
    tip.style.display = "block";
    tip.style.left = `${ev.pageX + 14}px`;
    tip.style.top = `${ev.pageY + 10}px`;
  }

  for (const el of charts) {
    draw(el);
    let x0 = null;
    el.addEventListener("mousemove", (ev) => {
      hover(el, ev);
      if (x0 === null) return;
      const [px] = timeAt(el, ev), sel = el.querySelector(".sel");
      sel.setAttribute("x", Math.max(L, Math.min(x0[0], px)));
      sel.setAttribute("width", Math.min(Math.abs(px - x0[0]), PW));
    });
    el.addEventListener("mouseleave", () => { tip.style.display = "none"; x0 = null; draw(el); });
    el.addEventListener("mousedown", (ev) => { x0 = timeAt(el, ev); ev.preventDefault(); });
    el.addEventListener("mouseup", (ev) => {
      if (x0 === null) return;
      const x1 = timeAt(el, ev), a = Math.min(x0[1], x1[1]), b = Math.max(x0[1], x1[1]), px = x0[0];
      x0 = null;
      if (Math.abs(x1[0] - px) > 4 && b > a) zoom([a, b]);
    });
    el.addEventListener("dblclick", () => zoom([0, D.end]));
  }
  function zoom(v) {
    view = v;
    charts.forEach(draw);
    document.getElementById("span").textContent = `showing ${hms(v[0])}-${hms(v[1])}`;
  }
  document.getElementById("reset")?.addEventListener("click", () => zoom([0, D.end]));

  // the timeline: filter by kind and by text
  const rows = [...document.querySelectorAll("#timeline tbody tr")];
  const q = document.getElementById("tl-q"), kind = document.getElementById("tl-kind");
  if (!q || !kind) return;
  const filter = () => {
    const words = q.value.toLowerCase(), k = kind.value;
    let n = 0;
    for (const r of rows) {
      const show = (!k || r.dataset.kind === k) && r.textContent.toLowerCase().includes(words);
      r.hidden = !show;
      n += show;
    }
    document.getElementById("tl-n").textContent = `${n} of ${rows.length} entries`;
  };
  q.addEventListener("input", filter);
  kind.addEventListener("change", filter);
  filter();
})();
