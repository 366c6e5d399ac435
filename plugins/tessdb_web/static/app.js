/* The status page: the fleet on a map, a table, and one photometer's last night.
   Every name and place is put in the page as text (textContent, DOM nodes), never as HTML. */
(function () {
  "use strict";

  const STATUSES = ["live", "silent", "never", "retired"];
  const COLOURS = { live: "#2fbf71", silent: "#e5484d", never: "#8b93a7", retired: "#a78bfa" };
  const state = {
    rows: [], byName: new Map(), markers: new Map(), sort: { key: "name", dir: 1 },
    status: "", filter: "", chosen: null, about: null, chart: null, fitted: false,
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response.json();
  }

  function when(iso) { return iso ? iso.replace("T", " ").replace(/:\d\dZ$/, "") : "–"; }
  function mag(row) { return row.magnitudes && row.magnitudes.length ? row.magnitudes[0] : null; }
  function where(row) { return [row.place, row.town, row.country].filter(Boolean).join(", "); }

  // -- the map ------------------------------------------------------------------------------------
  const map = L.map("map", { worldCopyJump: true, minZoom: 2, maxZoom: 16, preferCanvas: false })
    .setView([40, -3], 4);
  map.attributionControl.setPrefix(false);
  const outlines = L.geoJSON(null, {
    interactive: false, renderer: L.canvas({ padding: 0.2 }),
    style: { color: "#3b4d74", weight: 0.8, fillColor: "#1a2540", fillOpacity: 1 },
  }).addTo(map);
  map.attributionControl.addAttribution("Natural Earth");

  const cluster = L.markerClusterGroup({
    maxClusterRadius: 36, showCoverageOnHover: false, chunkedLoading: true, disableClusteringAtZoom: 10,
    animate: false,
    iconCreateFunction: clusterIcon,
  });
  map.addLayer(cluster);

  function clusterIcon(group) {
    const counts = { live: 0, silent: 0, never: 0, retired: 0 };
    const children = group.getAllChildMarkers();
    for (const m of children) counts[m.options.status] += 1;
    const total = children.length;
    let at = 0;
    const stops = [];
    for (const s of STATUSES) {
      if (!counts[s]) continue;
      const next = at + (counts[s] / total) * 100;
      stops.push(COLOURS[s] + " " + at.toFixed(1) + "% " + next.toFixed(1) + "%");
      at = next;
    }
    const size = total < 10 ? 30 : total < 100 ? 36 : 44;
    const node = el("div", "tess-cluster");
    node.style.width = node.style.height = size + "px";
    node.style.background = "conic-gradient(" + stops.join(", ") + ")";
    const inner = el("span", null, total);
    inner.style.cssText = "background:#151c2e;color:#e4e8f1;border-radius:50%;width:" + (size - 12) +
      "px;height:" + (size - 12) + "px;display:flex;align-items:center;justify-content:center";
    node.appendChild(inner);
    return L.divIcon({ html: node, className: "", iconSize: [size, size] });
  }

  function markerIcon(status, chosen) {
    return L.divIcon({ className: "tess-marker status-" + status + (chosen ? " chosen" : ""), iconSize: [14, 14] });
  }

  function tooltip(row) {
    const node = el("div");
    node.appendChild(el("b", null, row.name));
    const place = where(row);
    if (place) node.appendChild(el("div", null, place));
    const m = mag(row);
    node.appendChild(el("div", "muted", row.status + (row.newest ? " · " + when(row.newest) + " UTC" : "") +
      (m !== null ? " · " + m.toFixed(2) + " mag/arcsec²" : "")));
    return node;
  }

  function updateMarkers() {
    const seen = new Set();
    const added = [];
    for (const row of state.rows) {
      if (row.longitude === null || row.latitude === null) continue;
      seen.add(row.name);
      let marker = state.markers.get(row.name);
      if (!marker) {
        marker = L.marker([row.latitude, row.longitude], {
          icon: markerIcon(row.status, row.name === state.chosen), title: row.name, alt: row.name,
          status: row.status, riseOnHover: true,
        });
        marker.on("click", () => choose(row.name));
        const name = row.name;  // the tooltip is made when shown, from the newest row
        marker.bindTooltip(() => tooltip(state.byName.get(name)), { direction: "top", offset: [0, -8] });
        state.markers.set(row.name, marker);
        added.push(marker);
      } else if (marker.options.status !== row.status) {
        marker.options.status = row.status;
        marker.setIcon(markerIcon(row.status, row.name === state.chosen));
        cluster.refreshClusters(marker);
      }
      marker.setLatLng([row.latitude, row.longitude]);
    }
    if (added.length) cluster.addLayers(added);
    for (const [name, marker] of state.markers) {
      if (!seen.has(name)) { cluster.removeLayer(marker); state.markers.delete(name); }
    }
    if (!state.fitted && state.markers.size) {
      state.fitted = true;
      const bounds = L.latLngBounds([...state.markers.values()].map((m) => m.getLatLng()));
      map.fitBounds(bounds.pad(0.15), { maxZoom: 7, animate: false });
    }
  }

  // -- the table ----------------------------------------------------------------------------------
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function byName(a, b) { return collator.compare(a, b); }

  function visibleRows() {
    const f = state.filter.trim().toLowerCase();
    let rows = state.rows;
    if (state.status) rows = rows.filter((r) => r.status === state.status);
    if (f) rows = rows.filter((r) => [r.name, r.place, r.town, r.country].some((v) => v && v.toLowerCase().includes(f)));
    const { key, dir } = state.sort;
    const value = (r) => (key === "mag" ? mag(r) : r[key]);
    return rows.slice().sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === y) return byName(a.name, b.name);
      if (x === null || x === undefined || x === "") return 1;
      if (y === null || y === undefined || y === "") return -1;
      if (typeof x === "string") return byName(x, y) * dir;
      return (x < y ? -1 : 1) * dir;
    });
  }

  function renderTable() {
    const body = document.querySelector("#fleet tbody");
    const fragment = document.createDocumentFragment();
    for (const row of visibleRows()) {
      const tr = el("tr", row.name === state.chosen ? "chosen" : "");
      tr.dataset.name = row.name;
      tr.dataset.status = row.status;
      const name = el("td");
      name.appendChild(el("span", "dot status-" + row.status));
      name.appendChild(document.createTextNode(row.name));
      name.title = row.status + (row.silent_since ? " since " + when(row.silent_since) : "");
      tr.appendChild(name);
      tr.appendChild(el("td", null, row.place || row.town || ""));
      tr.appendChild(el("td", null, row.country || ""));
      const newest = el("td", null, when(row.newest).slice(5));
      newest.title = when(row.newest);
      tr.appendChild(newest);
      const m = mag(row);
      tr.appendChild(el("td", "num", m === null ? "" : m.toFixed(2)));
      tr.addEventListener("click", () => choose(row.name));
      fragment.appendChild(tr);
    }
    body.replaceChildren(fragment);
  }

  function renderCounts(counts) {
    let all = 0;
    for (const s of STATUSES) { $("count-" + s).textContent = counts[s] || 0; all += counts[s] || 0; }
    $("count-all").textContent = all;
  }

  document.querySelectorAll("#fleet th").forEach((th) => th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
    document.querySelectorAll("#fleet th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
    renderTable();
  }));
  $("filter").addEventListener("input", (e) => { state.filter = e.target.value; renderTable(); });
  document.querySelectorAll("#counts .chip").forEach((chip) => chip.addEventListener("click", () => {
    state.status = chip.dataset.status;
    document.querySelectorAll("#counts .chip").forEach((c) => c.setAttribute("aria-pressed", String(c === chip)));
    renderTable();
  }));

  // -- one photometer -------------------------------------------------------------------------------
  function nightWindow(row) {
    // the noon-to-noon night (local mean solar time) that holds the newest reading
    const end = row.newest ? Date.parse(row.newest) : Date.now();
    const offset = ((row.longitude || 0) / 15) * 3600e3;
    const day = 86400e3;
    const start = Math.floor((end + offset - day / 2) / day) * day + day / 2 - offset;
    return [start, Math.min(start + day, Date.now() + 60e3)];
  }

  function iso(ms) { return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"); }

  async function choose(name) {
    const row = state.byName.get(name);
    if (!row) return;
    const previous = state.chosen;
    state.chosen = name;
    for (const n of [previous, name]) {
      const m = n && state.markers.get(n);
      const r = n && state.byName.get(n);
      if (m && r) m.setIcon(markerIcon(r.status, n === name));
    }
    document.querySelectorAll("#fleet tbody tr").forEach((tr) => tr.classList.toggle("chosen", tr.dataset.name === name));
    const panel = $("detail");
    panel.hidden = false;
    panel.dataset.name = name;
    panel.dataset.loaded = "";
    $("detail-name").textContent = name;
    const badge = $("detail-status");
    badge.textContent = row.status + (row.silent_since ? " since " + when(row.silent_since) : "");
    badge.className = "badge status-" + row.status;
    $("detail-site").textContent = where(row);
    map.invalidateSize();
    const [start, end] = nightWindow(row);
    const query = "from=" + encodeURIComponent(iso(start)) + "&to=" + encodeURIComponent(iso(end));
    const base = "/api/v1/photometers/" + encodeURIComponent(name);
    $("detail-csv").href = base + "/readings?format=csv&" + query;
    $("night-when").textContent = when(iso(start)) + " – " + when(iso(end)) + " UTC";
    try {
      const [detail, readings] = await Promise.all([getJSON(base), getJSON(base + "/readings?" + query)]);
      if (state.chosen !== name) return;
      renderFacts(detail);
      renderNight(readings, start / 1000, end / 1000);
      panel.dataset.loaded = "1";
      if (state.about && state.about.nights) {
        const nights = await getJSON(base + "/nights");
        if (state.chosen !== name) return;
        renderNights(nights);
        panel.dataset.nights = String(nights.nights.length);
      }
    } catch (err) {
      $("night-empty").hidden = false;
      $("night-empty").textContent = "Could not load: " + err.message;
    }
  }

  function renderNights(data) {
    const body = $("detail-nights");
    body.replaceChildren();
    const rows = data.nights.slice().reverse();
    $("nights-empty").hidden = rows.length > 0;
    const num = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
    for (const n of rows) {
      const tr = el("tr");
      tr.appendChild(el("td", null, n.night));
      tr.appendChild(el("td", null, n.sky));
      tr.appendChild(el("td", null, n.clear_fraction === null ? "–" : Math.round(100 * n.clear_fraction) + " %"));
      tr.appendChild(el("td", null, num(n.median, 2)));
      tr.appendChild(el("td", null, n.moon_illumination === null ? "–" : Math.round(100 * n.moon_illumination) + " %"));
      body.appendChild(tr);
    }
  }

  function renderFacts(d) {
    const dl = $("detail-facts");
    dl.replaceChildren();
    const facts = [["model", d.model], ["MAC", d.mac], ["channels", d.nchannels], ["place", d.site.place],
      ["town", d.site.town], ["country", d.site.country],
      ["position", d.site.latitude !== null ? d.site.latitude.toFixed(4) + ", " + d.site.longitude.toFixed(4) : null],
      ["newest", d.newest ? when(d.newest) + " UTC" : "never"],
      ["magnitudes", d.magnitudes.map((m) => m.toFixed(2)).join(" / ")]];
    for (const [k, v] of facts) {
      if (v === null || v === undefined || v === "") continue;
      dl.appendChild(el("dt", null, k));
      dl.appendChild(el("dd", null, v));
    }
    const body = $("detail-versions");
    body.replaceChildren();
    for (const v of d.versions.slice().reverse()) {
      const tr = el("tr");
      tr.appendChild(el("td", null, when(v.since).slice(0, 10)));
      tr.appendChild(el("td", null, v.until ? when(v.until).slice(0, 10) : "current"));
      tr.appendChild(el("td", null, v.zp.map((z) => (z === null ? "–" : Number(z).toFixed(2))).join(" / ")));
      tr.appendChild(el("td", null, v.filters.join(" / ")));
      body.appendChild(tr);
    }
  }

  const BANDS = { day: "rgba(255, 214, 102, 0.13)", civil: "rgba(120, 150, 230, 0.20)",
    nautical: "rgba(120, 150, 230, 0.12)", astronomical: "rgba(120, 150, 230, 0.06)" };

  function renderNight(data, start, end) {
    const box = $("night-chart");
    const col = (name) => data.columns.indexOf(name);
    const t = col("timestamp"), m = col("magnitude"), st = col("sky_state"), mo = col("moon_alt"), cl = col("clouds");
    const xs = [], ys = [], moon = [], cloudy = [], bands = [];
    for (const r of data.rows) {
      const x = Date.parse(r[t]) / 1000;
      const y = r[m] === null || r[m] <= 0 ? null : r[m];
      xs.push(x);
      ys.push(y);
      moon.push(mo >= 0 && r[mo] !== null && r[mo] > 0 ? r[mo] : null);
      cloudy.push(cl >= 0 && r[cl] === "cloudy" ? y : null);
      const state = st >= 0 ? r[st] : null;
      const last = bands[bands.length - 1];
      if (last && last[2] === state) last[1] = x; else bands.push([x, x, state]);
    }
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    box.replaceChildren();
    box.dataset.points = String(xs.length);
    box.dataset.cloudy = String(cloudy.filter((v) => v !== null).length);
    $("night-empty").hidden = xs.length > 0;
    $("night-empty").textContent = "No reading in that night.";
    const withSky = st >= 0;
    $("night-legend").textContent = !xs.length ? "" : xs.length + " readings; brightness in mag/arcsec² (higher is darker)" +
      (withSky ? "; shaded: day, then civil, nautical and astronomical twilight; dashed: the Moon's altitude (right axis); red dots: cloudy" : "");
    if (!xs.length) return;
    const axis = { stroke: "#8d98b3", grid: { stroke: "#232d47", width: 1 }, ticks: { stroke: "#232d47" } };
    const shade = (u) => {
      const ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
      for (const [x0, x1, name] of bands) {
        const fill = BANDS[name];
        if (!fill) continue;
        const a = u.valToPos(x0, "x", true), b = u.valToPos(x1, "x", true);
        ctx.fillStyle = fill;
        ctx.fillRect(a, top, Math.max(1, b - a), height);
      }
    };
    state.chart = new uPlot({
      width: Math.max(320, box.clientWidth || 600), height: 200,
      legend: { show: false }, cursor: { points: { size: 5 } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => [start, end] },
        y: { range: (u, lo, hi) => (lo === null ? [15, 22] : [Math.floor(lo - 0.3), Math.ceil(hi + 0.3)]) },
        deg: { range: [0, 90] },
      },
      axes: [{ ...axis, values: (u, splits) => splits.map((v) => new Date(v * 1e3).toISOString().slice(11, 16)) },
        { ...axis, label: "mag/arcsec²", labelSize: 16, size: 50 },
        { ...axis, scale: "deg", side: 1, grid: { show: false }, size: 40, values: (u, splits) => splits.map((v) => v + "°") }],
      series: [{},
        { label: "magnitude", stroke: "#5b8def", width: 1.5, points: { show: xs.length < 200, size: 3 } },
        { label: "Moon", scale: "deg", stroke: "#c9c3a5", width: 1, dash: [4, 4], points: { show: false } },
        { label: "cloudy", stroke: "#e5484d", width: 0, paths: () => null, points: { show: true, size: 5, fill: "#e5484d" } }],
      hooks: { drawClear: [shade] },
    }, [xs, ys, moon, cloudy], box);
  }

  $("detail-close").addEventListener("click", () => {
    $("detail").hidden = true;
    const previous = state.chosen;
    state.chosen = null;
    const r = previous && state.byName.get(previous);
    const mk = previous && state.markers.get(previous);
    if (r && mk) mk.setIcon(markerIcon(r.status, false));
    renderTable();
    map.invalidateSize();
  });

  // -- refresh ------------------------------------------------------------------------------------------
  async function refresh() {
    try {
      const data = await getJSON("/api/v1/photometers");
      performance.mark("fleet-fetched");
      state.rows = data.photometers;
      state.byName = new Map(state.rows.map((r) => [r.name, r]));
      renderCounts(data.counts);
      updateMarkers();
      performance.mark("markers-shown");
      renderTable();
      performance.mark("table-shown");
      if (state.chosen && state.byName.has(state.chosen)) {
        const row = state.byName.get(state.chosen);
        const badge = $("detail-status");
        badge.textContent = row.status + (row.silent_since ? " since " + when(row.silent_since) : "");
        badge.className = "badge status-" + row.status;
      }
      $("updated").textContent = "updated " + when(data.generated) + " UTC";
      if (!document.body.dataset.ready) requestAnimationFrame(() => performance.mark("painted"));
      document.body.dataset.ready = "1";
      document.body.dataset.generated = data.generated;
    } catch (err) {
      $("updated").textContent = "cannot reach the server: " + err.message;
    }
  }

  async function start() {
    const first = refresh();  // the fleet, the settings and the outlines are fetched at once
    try { state.about = await getJSON("/api/v1/about"); } catch (err) { state.about = { silent_after_seconds: 10800, tile_url: "" }; }
    document.body.classList.toggle("no-nights", !state.about.nights);
    if (state.about.tile_url) {
      const tiles = L.tileLayer(state.about.tile_url, { maxZoom: 16, attribution: "map tiles" });
      let loaded = false;
      tiles.on("tileload", () => {
        if (!loaded) { loaded = true; outlines.setStyle({ fillOpacity: 0, weight: 0.5 }); }
      });
      tiles.addTo(map);
    }
    fetch("/static/vendor/world-atlas/countries.geojson")
      .then((r) => r.json()).then((geo) => {
        outlines.addData(geo);
        outlines.bringToBack();
        performance.mark("outlines-shown");
      })
      .catch(() => { /* the markers still show */ });
    await first;
    const every = Math.min(30, Math.max(1, state.about.silent_after_seconds / 4)) * 1000;
    setInterval(refresh, every);
  }

  start();
})();
