// mediagraph serve's page: camera frames to the server over a WebSocket, annotated frames
// and results back, live figures, and the graph's picture with per-node busy time.
// Plain JS, no libraries, nothing fetched from outside this server.
"use strict";

const DEPTH = 2;            // frames in flight at once; the camera's other frames are dropped
const JPEG_QUALITY = 0.8;
const GIVE_UP_MS = 3000;    // a frame never answered stops counting as in flight
const KEEP = 3000;          // latencies kept (the figures use the last RECENT of them)
const RECENT = 300;
const $ = (id) => document.getElementById(id);

const state = {
  seq: 0, sent: 0, shown: 0, droppedPage: 0, droppedServer: 0, lost: 0,
  inFlight: new Map(),      // seq -> capture time (performance.now() clock)
  latencies: [],            // glass-to-glass ms of the last KEEP frames shown
  latencyTotal: 0,          // frames measured since the page opened
  shownTimes: [],           // when each recent frame was shown
  results: {},              // stream -> latest value
  resultSeq: {},            // stream -> seq of that value
  server: null,             // the server's last stats message
  prevBusy: null, prevBusyAt: 0, busyPercent: {},
  errors: [],
  clock: "",
};
let ws = null;
let picture = null;

// What the tests and the benchmark read.
window.mgStats = () => ({
  sent: state.sent, shown: state.shown, droppedPage: state.droppedPage,
  droppedServer: state.droppedServer, lost: state.lost, fps: fps(),
  p50: percentile(state.latencies.slice(-RECENT), 0.5),
  p95: percentile(state.latencies.slice(-RECENT), 0.95),
  latencies: state.latencies.slice(), latencyTotal: state.latencyTotal,
  results: state.results, server: state.server,
  busyPercent: state.busyPercent, errors: state.errors.slice(), clock: state.clock,
});

function percentile(values, q) {
  if (!values.length) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

function fps() {
  const now = performance.now();
  while (state.shownTimes.length && state.shownTimes[0] < now - 2000) state.shownTimes.shift();
  if (state.shownTimes.length < 2) return 0;
  return (state.shownTimes.length - 1) * 1000 / (now - state.shownTimes[0]);
}

function status(text) { $("status").textContent = text; }

// -- the camera and the socket ---------------------------------------------------------------

async function start() {
  const graph = await (await fetch("/graph")).json();
  $("graph-name").textContent = graph.name;
  picture = drawGraph(graph.picture);
  const media = await navigator.mediaDevices.getUserMedia(
    { video: { width: 640, height: 480, frameRate: 30 }, audio: false });
  const video = $("camera");
  video.srcObject = media;
  await video.play();
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = onMessage;
  ws.onclose = () => status("disconnected from the server");
  ws.onopen = () => {
    status("");
    if (video.requestVideoFrameCallback) {
      const each = (now, meta) => { video.requestVideoFrameCallback(each); onCameraFrame(video, meta); };
      video.requestVideoFrameCallback(each);
    } else {
      setInterval(() => onCameraFrame(video, null), 1000 / 30);
    }
  };
  setInterval(showFigures, 250);
}

function onCameraFrame(video, meta) {
  if (!ws || ws.readyState !== WebSocket.OPEN || !video.videoWidth) return;
  const now = performance.now();
  for (const [seq, t] of state.inFlight) {
    if (now - t > GIVE_UP_MS) { state.inFlight.delete(seq); state.lost++; }
  }
  if (state.inFlight.size >= DEPTH) { state.droppedPage++; return; }
  // The frame's capture time where the browser knows it, else now (its arrival here).
  let captured = now;
  if (meta && meta.captureTime && now - meta.captureTime >= 0 && now - meta.captureTime < 1000) {
    captured = meta.captureTime; state.clock = "captureTime";
  } else {
    state.clock = "arrival";
  }
  const grab = $("grab");
  grab.width = video.videoWidth; grab.height = video.videoHeight;
  grab.getContext("2d").drawImage(video, 0, 0);
  const seq = ++state.seq;
  state.inFlight.set(seq, captured);
  grab.toBlob(async (blob) => {
    const body = new Uint8Array(await blob.arrayBuffer());
    const message = new Uint8Array(4 + body.length);
    new DataView(message.buffer).setUint32(0, seq, true);
    message.set(body, 4);
    if (ws.readyState === WebSocket.OPEN) { ws.send(message); state.sent++; }
  }, "image/jpeg", JPEG_QUALITY);
}

function onMessage(event) {
  if (typeof event.data !== "string") return showFrame(event.data);
  const message = JSON.parse(event.data);
  if (message.type === "result") {
    state.results[message.stream] = message.value;
    state.resultSeq[message.stream] = message.seq;
  } else if (message.type === "stats") {
    onStats(message);
  } else if (message.type === "error") {
    state.errors.push(message.message);
    if (message.seq !== undefined) state.inFlight.delete(message.seq);
    status(message.message);
  }
}

async function showFrame(data) {
  const seq = new DataView(data).getUint32(0, true);
  const captured = state.inFlight.get(seq);
  for (const key of state.inFlight.keys()) if (key <= seq) state.inFlight.delete(key);
  const bitmap = await createImageBitmap(new Blob([new Uint8Array(data, 4)], { type: "image/jpeg" }));
  const canvas = $("output");
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width; canvas.height = bitmap.height;
  }
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  // Shown when the browser paints it: the next animation frame.
  requestAnimationFrame(() => {
    const now = performance.now();
    state.shown++;
    state.shownTimes.push(now);
    if (captured !== undefined) {
      state.latencies.push(now - captured);
      state.latencyTotal++;
      if (state.latencies.length > KEEP) state.latencies.shift();
    }
  });
}

function onStats(message) {
  state.server = message;
  state.droppedServer = message.dropped_in + message.dropped_out + message.lost;
  const now = performance.now();
  const busy = {};
  for (const node of message.nodes || []) busy[node.name] = node.busy_ms;
  if (state.prevBusy) {
    const elapsed = now - state.prevBusyAt;
    for (const name in busy) {
      state.busyPercent[name] = 100 * (busy[name] - (state.prevBusy[name] || 0)) / elapsed;
    }
  }
  state.prevBusy = busy; state.prevBusyAt = now;
  showNodes(message.nodes || []);
}

// -- figures ------------------------------------------------------------------------------------

function fixed(value, digits) { return value === null ? "–" : value.toFixed(digits); }

function showFigures() {
  const s = window.mgStats();
  $("fps").textContent = s.fps.toFixed(1);
  $("p50").textContent = fixed(s.p50, 0);
  $("p95").textContent = fixed(s.p95, 0);
  $("sent").textContent = s.sent;
  $("shown").textContent = s.shown;
  $("dropped-page").textContent = s.droppedPage;
  $("dropped-server").textContent = s.droppedServer;
  $("server-p50").textContent = s.server ? s.server.server_latency.p50_ms.toFixed(1) : "–";
  $("results").textContent = JSON.stringify(state.results, (key, value) =>
    typeof value === "number" ? Math.round(value * 1000) / 1000 : value, 1);
}

function shortName(name) { return name.split("__").pop(); }

function showNodes(nodes) {
  const body = $("nodes").querySelector("tbody");
  body.textContent = "";
  for (const node of nodes) {
    const row = body.insertRow();
    const percent = state.busyPercent[node.name];
    for (const text of [shortName(node.name), node.calls,
                        percent === undefined ? "–" : percent.toFixed(1),
                        node.mean_us.toFixed(0), node.p95_us.toFixed(0)]) {
      row.insertCell().textContent = text;
    }
    if (picture && picture.labels[node.name]) {
      picture.labels[node.name].textContent = percent === undefined ? "" :
        `busy ${percent.toFixed(1)}% · ${node.mean_us.toFixed(0)} µs/call`;
    }
  }
}

// -- the graph's picture: layers by longest path from the inputs, drawn in SVG -------------------

function drawGraph(graph) {
  const svg = $("graph");
  const NS = "http://www.w3.org/2000/svg";
  const layer = {};
  for (const node of graph.nodes) layer[node.id] = 0;
  const solid = graph.edges.filter((e) => !e.dashed);
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let changed = false;
    for (const e of solid) {
      if (layer[e.target] < layer[e.source] + 1) { layer[e.target] = layer[e.source] + 1; changed = true; }
    }
    if (!changed) break;
  }
  const rows = [];
  for (const node of graph.nodes) (rows[layer[node.id]] = rows[layer[node.id]] || []).push(node);
  const W = 640, ROW = 62, BOX_H = 36;
  svg.setAttribute("height", rows.length * ROW + 10);
  const where = {};
  rows.forEach((nodes, r) => nodes.forEach((node, i) => {
    const width = Math.min(200, (W - 10) / nodes.length - 10);
    where[node.id] = { x: (i + 0.5) * W / nodes.length, y: r * ROW + 8 + BOX_H / 2, w: width };
  }));
  const defs = document.createElementNS(NS, "defs");
  defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" ' +
    'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker>';
  svg.appendChild(defs);
  for (const e of graph.edges) {
    const a = where[e.source], b = where[e.target];
    const line = document.createElementNS(NS, "line");
    line.setAttribute("x1", a.x); line.setAttribute("y1", a.y + BOX_H / 2);
    line.setAttribute("x2", b.x); line.setAttribute("y2", b.y - BOX_H / 2);
    line.setAttribute("stroke", "#777"); line.setAttribute("marker-end", "url(#arrow)");
    if (e.dashed) line.setAttribute("stroke-dasharray", "4 3");
    const title = document.createElementNS(NS, "title"); title.textContent = e.stream;
    line.appendChild(title);
    svg.appendChild(line);
  }
  const labels = {};
  for (const node of graph.nodes) {
    const p = where[node.id];
    const group = document.createElementNS(NS, "g");
    const shape = document.createElementNS(NS, node.kind === "input" ? "ellipse" : "rect");
    if (node.kind === "input") {
      shape.setAttribute("cx", p.x); shape.setAttribute("cy", p.y);
      shape.setAttribute("rx", p.w / 2); shape.setAttribute("ry", BOX_H / 2);
    } else {
      shape.setAttribute("x", p.x - p.w / 2); shape.setAttribute("y", p.y - BOX_H / 2);
      shape.setAttribute("width", p.w); shape.setAttribute("height", BOX_H); shape.setAttribute("rx", 4);
    }
    shape.setAttribute("fill", node.kind === "input" ? "#eef" : "#fff");
    shape.setAttribute("stroke", "#555");
    const title = document.createElementNS(NS, "title");
    title.textContent = node.subgraph ? `${node.id}\n(${node.subgraph})` : node.id;
    const name = document.createElementNS(NS, "text");
    name.setAttribute("x", p.x); name.setAttribute("y", p.y - 3); name.setAttribute("text-anchor", "middle");
    name.textContent = node.kind === "input" ? node.label : node.calculator.replace(/Calculator$/, "");
    const busy = document.createElementNS(NS, "text");
    busy.setAttribute("x", p.x); busy.setAttribute("y", p.y + 11); busy.setAttribute("text-anchor", "middle");
    busy.setAttribute("fill", "#a40");
    group.append(shape, title, name, busy);
    svg.appendChild(group);
    labels[node.id] = busy;
  }
  return { labels };
}

start().catch((error) => { state.errors.push(String(error)); status(`cannot start: ${error}`); });
