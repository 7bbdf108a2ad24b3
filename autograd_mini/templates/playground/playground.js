// The playground page: controls and drawings. Every number comes from the Python worker
// (worker.js: autograd_mini and nn in Pyodide); graphs are DOT from the engine, drawn to SVG
// here by viz.js (Graphviz in WebAssembly). Training runs a few epochs per request, so Pause
// takes effect between any two requests and the page never freezes.
import { instance as vizInstance } from "./vendor/viz.js";

const $ = (selector) => document.querySelector(selector);
const SVG = "http://www.w3.org/2000/svg";
const CLASS_COLOURS = ["#f59e0b", "#2563eb"];  // class 0 orange, class 1 blue
const CHUNK_MS = 300;                            // time per training request while playing

// -- the worker: one request at a time, answered in order ---------------------------------------
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 0;
const waiting = new Map();
let workerReady;
const engineLoaded = new Promise((resolve, reject) => { workerReady = { resolve, reject }; });
worker.onmessage = (event) => {
  const message = event.data;
  if (message.progress) showProgress(message.progress, message.fraction);
  else if (message.ready) workerReady.resolve(message.version);
  else if (message.failed) workerReady.reject(new Error(message.failed));
  else if (waiting.has(message.id)) {
    waiting.get(message.id)(message.result);
    waiting.delete(message.id);
  }
};
function ask(name, args = {}) {
  const id = nextId++;
  return new Promise((resolve) => { waiting.set(id, resolve); worker.postMessage({ id, name, args }); });
}

window.autogradMiniPlayground = { ask };  // for bench/playground.py: the requests the page makes

function showProgress(text, fraction) {
  $("#loading-text").textContent = text;
  $("#loading-bar").value = fraction;
}

function showError(text) {
  const line = $("[data-testid=error]");
  line.textContent = text || "";
  line.hidden = !text;
}

let viz;
let ready = false;
async function drawDot(dot) {
  return viz.renderSVGElement(dot);
}

// -- modes ---------------------------------------------------------------------------------------
function setMode(mode) {
  for (const button of document.querySelectorAll("[data-mode]")) {
    button.setAttribute("aria-selected", String(button.dataset.mode === mode));
  }
  for (const view of document.querySelectorAll("[data-view]")) view.hidden = view.dataset.view !== mode;
  settings.mode = mode;
  writeUrl();
  showError("");
  if (mode === "expression") {
    pause();
    if (ready && !players.has($("#expression-player"))) runExpression();
  }
}

// -- the step-through player ---------------------------------------------------------------------
// The same player as `autograd-mini graph ... --steps` (player.js): the recording's data, with
// its picture drawn here from the DOT the engine wrote. Its testing hooks are named after mounting.
const players = new Map();  // root element -> the mounted player

function unmountPlayer(root) {
  if (players.has(root)) players.get(root).destroy();
  players.delete(root);
}

async function mountPlayer(root, data) {
  unmountPlayer(root);
  root.replaceChildren(await drawDot(data.dot));  // the player takes the svg found in root
  players.set(root, window.AutogradMiniPlayer.mount(root, data));
  for (const [selector, name] of [[".agm-stage", "graph"], [".agm-last", "last"], [".agm-caption", "caption"]]) {
    root.querySelector(selector).dataset.testid = name;
  }
}

// The ledger: one row per derivative sent; a click shows that step in the player above it.
function showLedger(box, rows, playerRoot) {
  const fresh = table(rows.map((row) => [row.term, row.numbers, row.total]), ["", "=", "so"]);
  fresh.id = box.id;
  fresh.querySelectorAll("tbody tr").forEach((line, i) => {
    line.tabIndex = 0;
    line.onclick = () => players.get(playerRoot).show(rows[i].frame);
  });
  box.replaceWith(fresh);
}

// -- expression mode -----------------------------------------------------------------------------
async function runExpression(event) {
  if (event) event.preventDefault();
  const text = $("#expression-text").value;
  const values = $("#values").value;
  // the menu lists the inputs of the expression run last: a new expression starts without
  const forward = text === $("#forward").dataset.expression ? $("#forward").value : "";
  settings.expression = text;
  settings.values = values;
  writeUrl();
  const result = await ask("expression", { text, values, forward });
  if (result.error) {
    showError(result.error);
    return;
  }
  showError("");
  const choice = $("#forward");
  const chosen = choice.value;
  choice.replaceChildren(new Option("(none)", ""), ...result.inputs.map((name) => new Option(name, name)));
  choice.value = result.inputs.includes(chosen) ? chosen : "";
  choice.dataset.expression = text;
  $("#expression-result").textContent = `${result.output}; ` +
    result.derivatives.map(([name, value]) => `∂/∂${name} = ${value}`).join(", ") +
    (result.forward ? `; forward mode: ${result.forward}` : "");
  await mountPlayer($("#expression-player"), result.player);
  showLedger($("#expression-ledger"), result.ledger, $("#expression-player"));
}

// -- network mode --------------------------------------------------------------------------------
const settings = {};
let playing = false;
let busy = false;
let state = null;

function readSettings() {
  const form = $("#settings");
  const number = (name) => Number(form.elements[name].value);
  const hidden = form.elements.hidden.value.split(/[\s,]+/).filter(Boolean).map(Number);
  return {
    dataset: form.elements.dataset.value, points: number("points"), noise: number("noise"),
    seed: number("seed"), hidden, activation: form.elements.activation.value,
    loss: form.elements.loss.value, optimizer: form.elements.optimizer.value,
    lr: number("lr"), batch: number("batch"), l2: number("l2"), csv: form.elements.csv.value,
  };
}

async function reset() {
  pause();
  const chosen = readSettings();
  Object.assign(settings, chosen);
  writeUrl();
  const result = await ask("reset", { settings: chosen });
  if (result.error) {
    showError(result.error);
    return false;
  }
  showError("");
  $("[data-testid=point-steps]").hidden = true;
  draw(result);
  return true;
}

async function trainChunk(epochs) {
  busy = true;
  const result = await ask("train", { epochs });
  busy = false;
  if (result.error) {
    showError(result.error);
    pause();
    return null;
  }
  draw(result);
  if (result.diverged) pause();
  return result;
}

async function play() {
  if (playing) return;
  playing = true;
  $("#train").textContent = "Pause";
  let epochs = 1;
  while (playing) {
    const started = performance.now();
    const result = await trainChunk(epochs);
    if (!result) break;
    const took = Math.max(1, performance.now() - started);
    epochs = Math.max(1, Math.min(50, Math.round(epochs * CHUNK_MS / took)));
    await new Promise((resolve) => setTimeout(resolve, 0));  // let the page draw and take clicks
  }
}

function pause() {
  playing = false;
  $("#train").textContent = "Play";
}

const colourOf = (value) => {  // the output's sign as the class colour, its size as strength
  const strength = Math.min(1, Math.abs(Math.tanh(value)));
  const [r, g, b] = value > 0 ? [37, 99, 235] : [245, 158, 11];
  const mix = (c) => Math.round(255 + (c - 255) * strength * 0.55);
  return [mix(r), mix(g), mix(b)];
};

function planeImage(values, grid) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = grid;
  const context = canvas.getContext("2d");
  const image = context.createImageData(grid, grid);
  values.forEach((value, i) => {
    const [r, g, b] = colourOf(value);
    image.data.set([r, g, b, 255], i * 4);
  });
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

function element(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function draw(result) {
  state = result;
  $("[data-testid=epoch]").textContent = result.epoch;
  $("[data-testid=accuracy]").textContent = result.accuracy == null ? "–" : `${(100 * result.accuracy).toFixed(1)}%`;
  $("#loss-value").textContent = result.loss == null ? "diverged" : result.loss.toPrecision(4);
  showDivergence(result.diverged);
  $("#code").textContent = result.code;
  showParameters();
  drawPlane(result);
  drawNetwork(result);
  drawCurve(result.curve);
}

// Where training blew up: the engine's words, and the path, one edge a row (each edge's local
// derivative kept whole in data-local, the product in the list's data-product).
function showDivergence(where) {
  $("#diverged").hidden = !where;
  if (!where) return;
  $("#diverged-text").textContent = where.text;
  const path = $("[data-testid=divergence-path]");
  path.dataset.parameter = where.parameter;
  path.dataset.gradient = where.gradient;
  path.dataset.product = where.product;
  path.replaceChildren(...where.path.map((edge) => Object.assign(document.createElement("li"), {
    textContent: `∂${edge.from}/∂${edge.to} = ${fmt(edge.local)}`,
  })));
  where.path.forEach((edge, i) => { path.children[i].dataset.local = edge.local; });
}

async function rewind() {
  pause();
  while (busy) await new Promise((resolve) => setTimeout(resolve, 10));
  const result = await ask("rewind");
  if (result.error) return showError(result.error);
  showError("");
  draw(result);
}

function drawPlane(result) {
  const plane = $("#plane");
  plane.replaceChildren();
  const [low, high] = result.span;
  const size = 320;
  const at = (x) => ((x - low) / (high - low)) * size;
  element("image", { href: planeImage(result.output, result.grid), x: 0, y: 0, width: size, height: size,
    preserveAspectRatio: "none", style: "image-rendering: pixelated" }, plane);
  result.points.forEach(([x, y], index) => {
    const circle = element("circle", { cx: at(x).toFixed(1), cy: (size - at(y)).toFixed(1), r: 5,
      fill: CLASS_COLOURS[result.labels[index]], stroke: "#fff", "stroke-width": 1.2,
      "data-index": index, tabindex: 0, class: "point" }, plane);
    element("title", {}, circle).textContent = `point ${index}: (${x.toFixed(2)}, ${y.toFixed(2)}), class ${result.labels[index]}`;
  });
}

function drawNetwork(result) {
  const net = $("#net");
  net.replaceChildren();
  const sizes = result.sizes;
  const tile = 34;
  const gap = 12;
  const columnWidth = 96;
  const tallest = Math.max(...sizes);
  const width = columnWidth * (sizes.length - 1) + tile + 8;
  const height = tallest * (tile + gap) + gap;
  net.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const spot = (layer, i) => {
    const count = sizes[layer];
    const top = (height - count * (tile + gap) + gap) / 2;
    return [4 + layer * columnWidth, top + i * (tile + gap)];
  };
  // weights first, under the tiles
  const largest = Math.max(1e-9, ...result.parameters.flat(2).map(Math.abs).filter(Number.isFinite));
  result.parameters.forEach((neurons, layer) => {
    neurons.forEach((parameters, j) => {
      const [x2, y2] = spot(layer + 1, j);
      parameters.slice(0, -1).forEach((w, i) => {
        const [x1, y1] = spot(layer, i);
        const line = element("line", { x1: x1 + tile, y1: y1 + tile / 2, x2, y2: y2 + tile / 2,
          stroke: w >= 0 ? "#2563eb" : "#f59e0b", "stroke-width": (0.3 + 4 * Math.abs(w) / largest).toFixed(2),
          "stroke-opacity": 0.75, class: "weight" }, net);
        element("title", {}, line).textContent = `w${layer}[${j},${i}] = ${w == null ? "diverged" : w.toPrecision(4)}`;
      });
    });
  });
  // the inputs: x1 and x2 over the plane
  const grid = result.grid;
  const inputTiles = [0, 1].map((axis) => {
    const values = [];
    for (let row = 0; row < grid; row++) {
      for (let column = 0; column < grid; column++) {
        const t = -1 + 2 * (axis === 0 ? column : grid - 1 - row) / (grid - 1);
        values.push(2 * t);
      }
    }
    return values;
  });
  const tiles = [inputTiles, ...splitTiles(result.tiles, sizes.slice(1, -1)), [result.output]];
  tiles.forEach((column, layer) => column.forEach((values, i) => {
    const [x, y] = spot(layer, i);
    const picture = element("image", { href: planeImage(values, grid), x, y, width: tile, height: tile,
      preserveAspectRatio: "none", class: "tile" }, net);
    const bias = layer > 0 ? result.parameters[layer - 1][i].slice(-1)[0] : null;
    const name = layer === 0 ? `x${i + 1}` : layer === sizes.length - 1 ? "output" : `layer ${layer - 1}, neuron ${i}`;
    element("title", {}, picture).textContent = bias == null ? name : `${name}; bias ${bias.toPrecision(4)}`;
    element("rect", { x, y, width: tile, height: tile, fill: "none", stroke: "#64748b", "stroke-width": 0.6 }, net);
  }));
}

// -- everything checkable: parameters, loss, update, gradient check ---------------------------------
const fmt = (value) => (value == null ? "diverged" : Number(value).toPrecision(4));

function table(rows, head) {
  const box = document.createElement("table");
  const header = box.createTHead().insertRow();
  for (const text of head) header.append(Object.assign(document.createElement("th"), { textContent: text }));
  const body = box.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    for (const cell of row) line.insertCell().textContent = typeof cell === "number" ? fmt(cell) : cell;
  }
  return box;
}

async function showParameters() {
  if (!$("#inspect").open || inspecting) return;
  inspecting = true;
  const result = await ask("parameters");
  inspecting = false;
  if (result.error) return showError(result.error);
  $("#formulas").replaceChildren(...result.lines.map((line) => Object.assign(document.createElement("p"), { textContent: line })));
  $("#parameters").replaceWith(Object.assign(table(result.rows, ["parameter", "value", "last ∂loss/∂p"]), { id: "parameters" }));
}
let inspecting = false;

async function checkGradients() {
  pause();
  while (busy) await new Promise((resolve) => setTimeout(resolve, 10));
  const result = await ask("gradcheck");
  if (result.error) return showError(result.error);
  const rows = result.rows.map(([name, reverse, numeric, difference, agree]) =>
    [name, reverse, numeric, difference, agree ? "agree" : "DIFFER"]);
  const verdict = result.rows.every((row) => row[4]) ? "Reverse mode agrees with central differences" : "Reverse mode and central differences differ";
  $("#gradcheck-result").replaceChildren(
    Object.assign(document.createElement("p"), { textContent: `${verdict} (ε = ${result.eps}, loss over every point).` }),
    table(rows, ["parameter", "reverse mode", "(L(p+ε) − L(p−ε)) / 2ε", "difference", ""]));
}

function splitTiles(flat, widths) {
  const layers = [];
  let start = 0;
  for (const width of widths) {
    layers.push(flat.slice(start, start + width));
    start += width;
  }
  return layers;
}

function drawCurve(curve) {
  const box = $("#curve");
  box.replaceChildren();
  const finite = curve.filter((v) => v != null && Number.isFinite(v));
  if (finite.length < 2) return;
  const top = Math.max(...finite);
  const points = curve.map((v, i) => `${(i / (curve.length - 1) * 316 + 2).toFixed(1)},${(58 - (v == null ? 56 : 56 * v / top)).toFixed(1)}`);
  element("polyline", { points: points.join(" "), fill: "none", stroke: "#0f172a", "stroke-width": 1.5 }, box);
}

async function showPoint(index) {
  pause();
  while (busy) await new Promise((resolve) => setTimeout(resolve, 10));
  const result = await ask("point", { index });
  if (result.error) {
    showError(result.error);
    return;
  }
  showError("");
  const section = $("[data-testid=point-steps]");
  section.hidden = false;
  $("#point-title").textContent = `Point ${index} (${result.x.map((v) => v.toFixed(2)).join(", ")}), class ${result.label}: output ${result.output.toPrecision(4)}, loss ${result.loss.toPrecision(4)}`;
  await mountPlayer($("#point-player"), result.player);
  showLedger($("#point-ledger"), result.ledger, $("#point-player"));
  section.scrollIntoView({ block: "nearest" });
}

// A tap on the plane adds a point there (the current points become the learner's own first).
function addPoint(event, label) {
  const box = $("#plane").getBoundingClientRect();
  const [low, high] = state.span;
  const x = low + (high - low) * (event.clientX - box.left) / box.width;
  const y = high - (high - low) * (event.clientY - box.top) / box.height;
  const csv = $("#csv");
  if (!csv.value.trim()) {
    csv.value = state.points.map(([a, b], i) => `${a.toFixed(3)}, ${b.toFixed(3)}, ${state.labels[i]}`).join("\n");
  }
  csv.value += `\n${x.toFixed(3)}, ${y.toFixed(3)}, ${label}`;
  reset();
}

// -- settings in the URL -------------------------------------------------------------------------
function writeUrl() {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(settings)) {
    if (key !== "csv") query.set(key, Array.isArray(value) ? value.join(",") : value);  // points stay in the page
  }
  history.replaceState(null, "", `#${query}`);
}

function readUrl() {
  const query = new URLSearchParams(location.hash.slice(1));
  const form = $("#settings");
  for (const [key, value] of query) {
    if (form.elements[key]) form.elements[key].value = key === "hidden" ? value.replaceAll(",", ", ") : value;
  }
  if (query.has("expression")) $("#expression-text").value = query.get("expression");
  if (query.has("values")) $("#values").value = query.get("values");
  return query.get("mode") || "network";
}

// -- start ---------------------------------------------------------------------------------------
function fill(select, names, chosen) {
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  select.value = chosen;
}

async function start() {
  const [version, loadedViz] = await Promise.all([engineLoaded, vizInstance()]);
  viz = loadedViz;
  const menus = await ask("options");
  const defaults = menus.defaults;
  fill($("#dataset"), menus.datasets, defaults.dataset);
  fill($("#activation"), menus.activations, defaults.activation);
  fill($("#loss"), menus.losses, defaults.loss);
  fill($("#optimizer"), menus.optimizers, defaults.optimizer);
  const mode = readUrl();
  $("#version").textContent = version;
  for (const button of document.querySelectorAll("[data-mode]")) button.onclick = () => setMode(button.dataset.mode);
  $("#expression-form").onsubmit = runExpression;
  $("#forward").onchange = runExpression;
  $("#train").onclick = () => (playing ? pause() : play());
  $("#step").onclick = () => { pause(); if (!busy) trainChunk(1); };
  $("#reset").onclick = reset;
  $("#rewind").onclick = rewind;
  $("#inspect").ontoggle = showParameters;
  $("#gradcheck").onclick = checkGradients;
  $("#copy-code").onclick = async () => {
    try {
      await navigator.clipboard.writeText($("#code").textContent);
      $("#copy-code").textContent = "Copied";
    } catch (error) {  // no clipboard (an insecure origin): select the text for Ctrl+C instead
      getSelection().selectAllChildren($("#code"));
      $("#copy-code").textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { $("#copy-code").textContent = "Copy"; }, 2000);
  };
  $("#settings").onchange = reset;
  $("#plane").addEventListener("click", (event) => {
    const index = event.target.dataset && event.target.dataset.index;
    const tap = $("#settings").elements.tap.value;
    if (tap !== "") addPoint(event, Number(tap));
    else if (index !== undefined) showPoint(Number(index));
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || settings.mode !== "network") return;
    if (event.key === "p") $("#train").click();
    else if (event.key === "s") $("#step").click();
    else if (event.key === "r") $("#reset").click();
  });
  await reset();
  ready = true;
  setMode(mode);
  $("#loading").hidden = true;
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  showProgress(`The engine could not start: ${error.message}`, 0);
  showError(`The engine could not start: ${error.message}`);
});
