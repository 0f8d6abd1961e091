// Periscope Inspector: a single page that looks inside the served models using only the public
// HTTP API (so it is also an example of it). Plain JavaScript, no framework, no build step, nothing
// fetched from elsewhere. Every URL is relative, so the page works behind a path prefix.
//
// The bearer token lives in `api.token` only: never in storage, never in a URL.
'use strict';

// Errors the page itself hit, for people (the status bar) and for the browser tests.
window.inspectorErrors = [];
window.addEventListener('error', (event) => window.inspectorErrors.push(String(event.message || event)));
window.addEventListener('unhandledrejection', (event) => window.inspectorErrors.push('unhandled rejection: ' + String(event.reason)));

// MARK: - Colour map

/** The colour map of every heatmap: viridis, sampled at nine stops and interpolated linearly. */
const COLOUR_STOPS = [
  [68, 1, 84], [71, 44, 122], [59, 82, 139], [44, 114, 142], [33, 145, 140],
  [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37],
];

/** The colour of `t` in [0, 1] (clamped) as [r, g, b], each rounded to an integer. */
function colourAt(t) {
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  const position = t * (COLOUR_STOPS.length - 1);
  const index = Math.min(Math.floor(position), COLOUR_STOPS.length - 2);
  const fraction = position - index;
  const a = COLOUR_STOPS[index], b = COLOUR_STOPS[index + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * fraction));
}
window.inspectorColourAt = colourAt;

/** Normalizes `value` into [0, 1] over [low, high] (0 when the range is empty). */
function normalized(value, low, high) {
  return high > low ? (value - low) / (high - low) : 0;
}

// MARK: - Small DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Creates an element: `el('div.card', {title: 'x'}, child, 'text', …)`. */
function el(spec, attributes = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children.flat()) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(2);
  return value.toFixed(magnitude >= 100 ? 1 : 3);
}

function formatCount(count) {
  if (count >= 1e9) return (count / 1e9).toFixed(2) + ' B';
  if (count >= 1e6) return (count / 1e6).toFixed(2) + ' M';
  if (count >= 1e3) return (count / 1e3).toFixed(1) + ' k';
  return String(count);
}

function formatBytes(bytes) {
  if (bytes >= 1 << 20) return (bytes / (1 << 20)).toFixed(1) + ' MB';
  if (bytes >= 1 << 10) return (bytes / (1 << 10)).toFixed(1) + ' KB';
  return bytes + ' B';
}

function product(shape) { return shape.reduce((a, b) => a * b, 1); }

let toastTimer = 0;
function toast(message, kind = 'error') {
  const node = $('#toast');
  node.textContent = message;
  node.className = 'toast' + (kind === 'info' ? ' info' : '');
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 7000);
}

let activity = 0;
/** Runs `work` with the busy state shown (the tests wait for `data-state="idle"`). */
async function busy(label, work) {
  activity += 1;
  document.body.dataset.state = 'busy';
  $('#activity').textContent = label + '…';
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AuthCancelled)) toast(error.message || String(error));
    return undefined;
  } finally {
    activity -= 1;
    if (activity === 0) {
      document.body.dataset.state = 'idle';
      $('#activity').textContent = '';
    }
  }
}

// MARK: - API client

class ApiError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}
class AuthCancelled extends Error {}

const api = {
  /** The bearer token, in this page's memory only. */
  token: null,
  /** Whether the token (or the open server) may use the admin endpoints. */
  admin: false,
  /** The token prompt in progress, shared by concurrent requests. */
  prompt: null,

  /** Sends a request to a path relative to the page; asks for a token on 401 and retries once. */
  async request(method, path, { json, body, headers = {}, accept } = {}) {
    for (let attempt = 0; ; attempt++) {
      const sent = new Headers(headers);
      if (this.token) sent.set('Authorization', 'Bearer ' + this.token);
      let payload = body;
      if (json !== undefined) {
        sent.set('Content-Type', 'application/json');
        payload = JSON.stringify(json);
      }
      if (accept) sent.set('Accept', accept);
      const response = await fetch(path, { method, headers: sent, body: payload, cache: 'no-store', credentials: 'omit', redirect: 'error' });
      if (response.status === 401 && attempt === 0) {
        await this.askForToken(this.token ? 'The token was not accepted.' : null);
        continue;
      }
      return response;
    }
  },

  /** The JSON body of a 2xx answer; an `ApiError` with the server's message otherwise. */
  async json(method, path, options) {
    const response = await this.request(method, path, options);
    if (!response.ok) throw await ApiError.from(response);
    return response.json();
  },

  askForToken(reason) {
    if (!this.prompt) {
      this.prompt = new Promise((resolve, reject) => {
        const dialog = $('#token-dialog');
        $('#token-input').value = '';
        dialog.querySelector('p').dataset.reason = reason || '';
        dialog.returnValue = '';
        const done = () => {
          dialog.removeEventListener('close', done);
          this.prompt = null;
          const token = $('#token-input').value.trim();
          $('#token-input').value = '';
          if (dialog.returnValue === 'use' && token) {
            this.token = token;
            updateAuthButton();
            resolve();
          } else {
            reject(new AuthCancelled('a bearer token is needed'));
          }
        };
        dialog.addEventListener('close', done);
        dialog.showModal();
        $('#token-input').focus();
      });
    }
    return this.prompt;
  },
};

ApiError.from = async (response) => {
  let message = `HTTP ${response.status}`;
  let type = '';
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error;
      type = body.error_type || '';
    }
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, message, type);
};

function modelPath(name, rest = '') {
  return 'v1/models/' + encodeURIComponent(name) + rest;
}

// MARK: - Tensors from the API

/** Decodes IEEE half-precision bits. */
function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A feature tensor of a response (`{shape, dtype, data}`, JSON numbers or base64) as a Float32Array. */
function decodeTensor(tensor) {
  let values;
  if (typeof tensor.data === 'string') {
    const binary = atob(tensor.data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    if (tensor.dtype === 'float16') {
      values = new Float32Array(bytes.length / 2);
      for (let i = 0; i < values.length; i++) values[i] = halfToFloat(view.getUint16(2 * i, true));
    } else {
      values = new Float32Array(bytes.length / 4);
      for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
    }
  } else {
    values = Float32Array.from(tensor.data, (value) => (value === null ? NaN : value));
  }
  return { shape: tensor.shape, dtype: tensor.dtype, values };
}

function range(values, start = 0, end = values.length) {
  let low = Infinity, high = -Infinity;
  for (let i = start; i < end; i++) {
    const value = values[i];
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return low <= high ? [low, high] : [0, 0];
}

// MARK: - State

const state = {
  models: [],
  /** The selected model: {name, architecture, kind ('image'|'text'|'tensor'), config, layers}. */
  model: null,
  /** Selected layer names (or globs) for Look inside, in the order chosen. */
  selection: [],
  /** The current input: {kind: 'image', base64, url, name, image} or {kind: 'text', text}. */
  input: null,
  compareInputs: { a: null, b: null },
  /** The last features request of Look inside, for Export. */
  lastRequest: null,
};

function inputKindOf(architecture, metadata) {
  if (metadata && Array.isArray(metadata.inputs)) {
    const names = metadata.inputs.map((input) => input.name);
    if (names.includes('input_ids')) return 'text';
    const input = metadata.inputs[0];
    if (input && input.shape && input.shape.length === 4) return 'image';
    if (input) return 'tensor';
  }
  if (/^(bert)/.test(architecture)) return 'text';
  if (/^(resnet|vit)/.test(architecture)) return 'image';
  return 'tensor';
}

/** The total parameter count from the layer list: the top-level modules' counts, each module once. */
function parameterCount(layers) {
  const seen = new Set(layers.map((layer) => layer.name));
  let total = 0;
  for (const layer of layers) {
    if (layer.name.includes('.')) continue;
    const base = layer.name.replace(/_\d+$/, '');
    if (base !== layer.name && seen.has(base)) continue;
    total += layer.parameters || 0;
  }
  return total;
}

// MARK: - Views and navigation

const views = ['models', 'layers', 'inside', 'gradients', 'compare', 'export'];

function showView(name) {
  if (!views.includes(name)) name = 'models';
  for (const section of $$('main > .view')) section.hidden = section.dataset.view !== name;
  for (const link of $$('#tabs a')) link.classList.toggle('active', link.dataset.view === name);
  document.body.dataset.view = name;
  if (name === 'layers') renderLayerTree();
  if (['inside', 'gradients', 'compare'].includes(name) && state.model) renderInputSlots();
  if (name === 'export') renderExport();
}

window.addEventListener('hashchange', () => showView(location.hash.slice(1)));

function updateAuthButton() {
  const button = $('#auth-button');
  button.textContent = api.token ? 'Token ✓' : 'Token';
  button.classList.toggle('signed-in', Boolean(api.token));
}

// MARK: - Models view

async function loadModels() {
  const list = await api.json('GET', 'v1/models');
  state.models = list.models || [];
  api.admin = await probeAdmin();
  const select = $('#model-select');
  const previous = state.model && state.model.name;
  select.replaceChildren(...state.models.map((model) => el('option', { value: model.name, text: model.name })));
  const preferred = state.models.find((model) => model.name === previous) || state.models.find((model) => readyVersion(model)) || state.models[0];
  if (preferred) select.value = preferred.name;
  await renderModels();
  if (preferred) await selectModel(preferred.name);
  $('#server-status').textContent = `${state.models.length} model${state.models.length === 1 ? '' : 's'} · ` +
    (api.token ? 'token in memory' : 'no token') + (api.admin ? ' · admin' : '');
}

/** Whether load/unload may be offered: `POST v2/repository/index` (admin scope, no side effects) answers 200. */
async function probeAdmin() {
  try {
    const response = await fetch('v2/repository/index', {
      method: 'POST', cache: 'no-store', credentials: 'omit',
      headers: api.token ? { Authorization: 'Bearer ' + api.token, 'Content-Type': 'application/json' } : { 'Content-Type': 'application/json' },
      body: '{}',
    });
    return response.ok;
  } catch (_) {
    return false;
  }
}

function readyVersion(model) {
  return (model.versions || []).find((version) => version.version === model.default_version && version.status === 'ready');
}

async function renderModels() {
  const container = $('#models-list');
  $('#admin-note').textContent = api.admin
    ? 'Your access includes the admin scope: versions can be loaded and unloaded here.'
    : 'Load and unload need a token with the admin scope; they are hidden.';
  const cards = await Promise.all(state.models.map(async (model) => {
    const ready = readyVersion(model);
    const defaultVersion = (model.versions || []).find((version) => version.version === model.default_version) || {};
    let metadata = null, layers = null;
    if (ready) {
      [metadata, layers] = await Promise.all([
        api.json('GET', 'v2/models/' + encodeURIComponent(model.name)).catch(() => null),
        api.json('GET', modelPath(model.name, '/layers')).catch(() => null),
      ]);
    }
    const kind = inputKindOf(defaultVersion.architecture || '', metadata);
    const inputs = metadata ? metadata.inputs.map((input) => `${input.name} ${input.datatype} [${input.shape.join(', ')}]`).join('; ') : '—';
    const labels = Object.entries(model.labels || {}).map(([key, value]) => `${key}=${value}`).join(', ');
    const rows = (model.versions || []).map((version) => el('tr', {},
      el('td', {}, el('strong', { text: 'v' + version.version }), version.version === model.default_version ? ' (default)' : ''),
      el('td', {}, el('span.badge.' + version.status, { text: version.status, title: version.status_reason || '' })),
      el('td.mono', { text: version.architecture }),
      el('td', { text: formatBytes(version.byte_size) }),
      el('td', { text: (version.created_at || '').replace('T', ' ').replace(/\.\d+Z?$|Z$/, '') }),
      el('td', {}, api.admin ? versionActions(model, version) : null)));
    return el('div.panel.model-card', { dataset: { model: model.name } },
      el('h3', {}, model.name, el('span.badge.kind', { text: kind })),
      el('p.desc', { text: model.description || '' }),
      el('dl.facts', {},
        el('dt', { text: 'Architecture' }), el('dd.mono', { text: defaultVersion.architecture || '—' }),
        el('dt', { text: 'Parameters' }), el('dd', { class: 'parameter-count', text: layers ? formatCount(parameterCount(layers.layers)) + ` (${parameterCount(layers.layers).toLocaleString('en')})` : 'load the model to count' }),
        el('dt', { text: 'Layers' }), el('dd', { text: layers ? String(layers.layers.length) + ' capturable' : '—' }),
        el('dt', { text: 'Input' }), el('dd.mono', { text: inputs }),
        el('dt', { text: 'Preload' }), el('dd', { text: model.preload ? 'yes' : 'no' }),
        labels ? el('dt', { text: 'Labels' }) : null, labels ? el('dd.mono', { text: labels }) : null),
      el('table', {}, el('thead', {}, el('tr', {}, ['Version', 'State', 'Architecture', 'Weights', 'Registered', ''].map((title) => el('th', { text: title })))),
        el('tbody', {}, rows)));
  }));
  container.replaceChildren(...cards);
  if (!cards.length) container.append(el('div.empty', { text: 'No models are registered.' }));
}

function versionActions(model, version) {
  const act = (action) => busy(`${action} ${model.name} v${version.version}`, async () => {
    await api.json('POST', modelPath(model.name, `/${action}?version=${version.version}`));
    await loadModels();
  });
  return el('span.row', {},
    version.status === 'ready' ? null : el('button.small', { type: 'button', 'data-action': 'load', text: 'Load', onclick: () => act('load') }),
    version.status === 'ready' || version.status === 'loading' ? el('button.small', { type: 'button', 'data-action': 'unload', text: 'Unload', onclick: () => act('unload') }) : null);
}

async function selectModel(name) {
  const model = state.models.find((entry) => entry.name === name);
  if (!model) return;
  const version = (model.versions || []).find((entry) => entry.version === model.default_version) || {};
  const next = { name, architecture: version.architecture || '', config: version.config || {}, layers: [], kind: 'tensor', ready: Boolean(readyVersion(model)) };
  if (next.ready) {
    const [metadata, layers] = await Promise.all([
      api.json('GET', 'v2/models/' + encodeURIComponent(name)).catch(() => null),
      api.json('GET', modelPath(name, '/layers')),
    ]);
    next.layers = layers.layers;
    next.kind = inputKindOf(next.architecture, metadata);
  } else {
    next.kind = inputKindOf(next.architecture, null);
  }
  const changed = !state.model || state.model.name !== name;
  state.model = next;
  if (changed) {
    state.selection = defaultSelection(next);
    if (state.input && state.input.kind !== next.kind) state.input = null;
    for (const key of ['a', 'b']) if (state.compareInputs[key] && state.compareInputs[key].kind !== next.kind) state.compareInputs[key] = null;
    $('#inside-results').replaceChildren(el('div.empty', {}, 'Choose an input and layers, then ', el('strong', { text: 'Look inside' }), '.'));
    $('#gradients-results').replaceChildren(el('div.empty', { text: 'Compute Grad-CAM or saliency for the current input.' }));
  }
  for (const node of $$('.model-name')) node.textContent = name;
  $('#layer-names').replaceChildren(...next.layers.map((layer) => el('option', { value: layer.name })));
  renderInputSlots();
  renderSelection();
  renderGradientControls();
  if (!$('#view-layers').hidden) renderLayerTree();
  if (!next.ready) toast(`${name} is not loaded: its layers are unknown until it is.`, 'info');
}

/** Whether a layer's output is a feature map larger than one position (N×C×H×W, H·W > 1). */
function spatial(layer) {
  return layer.output_shape.length === 4 && layer.output_shape[2] * layer.output_shape[3] > 1;
}

/** Two interesting layers to start with: two of the last blocks before pooling. */
function defaultSelection(model) {
  const names = model.layers.map((layer) => layer.name);
  const candidates = model.kind === 'text'
    ? names.filter((name) => /^encoder\.layer\.\d+$/.test(name))
    : model.layers.filter((layer) => !layer.name.includes('.') && spatial(layer)).map((layer) => layer.name);
  if (candidates.length >= 3) return [candidates[candidates.length - 3], candidates[candidates.length - 1]];
  if (candidates.length >= 2) return candidates.slice(-2);
  return names.slice(-1);
}

// MARK: - Layers view

let treeExpanded = new Set();

function layerTree(layers) {
  const root = { name: '', path: '', children: new Map(), layer: null };
  for (const layer of layers) {
    let node = root;
    const parts = layer.name.split('.');
    parts.forEach((part, index) => {
      const path = parts.slice(0, index + 1).join('.');
      if (!node.children.has(part)) node.children.set(part, { name: part, path, children: new Map(), layer: null });
      node = node.children.get(part);
    });
    node.layer = layer;
  }
  return root;
}

/** A glob as the API accepts it: `*` matches within one dotted segment, `?` one character. */
function globRegExp(glob) {
  const source = glob.split('').map((character) => {
    if (character === '*') return '[^.]*';
    if (character === '?') return '[^.]';
    return character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }).join('');
  return new RegExp('^' + source + '$');
}

function layerMatches(query) {
  if (!query) return null;
  if (/[*?]/.test(query)) {
    const pattern = globRegExp(query);
    return (name) => pattern.test(name);
  }
  const lower = query.toLowerCase();
  return (name, layer) => name.toLowerCase().includes(lower) || (layer && layer.type.toLowerCase().includes(lower));
}

function renderLayerTree() {
  const container = $('#layer-tree');
  const model = state.model;
  if (!model || !model.layers.length) {
    container.replaceChildren(el('div.empty', { text: 'The selected model is not loaded.' }));
    return;
  }
  const query = $('#layer-search').value.trim();
  const matcher = layerMatches(query);
  const root = layerTree(model.layers);
  const rows = [el('div.tree-row.head', {}, el('span', { text: 'Layer' }), el('span', { text: 'Type' }), el('span', { text: 'Output shape' }),
    el('span.num', { text: 'Calls' }), el('span.num', { text: 'Parameters' }))];
  const visit = (node, depth) => {
    for (const child of node.children.values()) {
      const subtreeMatches = !matcher || subtreeHas(child, matcher);
      if (!subtreeMatches) continue;
      const hasChildren = child.children.size > 0;
      const open = matcher ? true : treeExpanded.has(child.path);
      const layer = child.layer;
      const selected = state.selection.includes(child.path);
      const checkbox = layer ? el('input', { type: 'checkbox', 'aria-label': 'select ' + child.path, checked: selected, dataset: { layer: child.path },
        onchange: (event) => toggleLayer(child.path, event.target.checked) }) : null;
      const caret = el('button.caret' + (hasChildren ? '' : '.leaf'), { type: 'button', 'aria-label': open ? 'collapse' : 'expand', text: open ? '▼' : '▶',
        onclick: () => { if (treeExpanded.has(child.path)) treeExpanded.delete(child.path); else treeExpanded.add(child.path); renderLayerTree(); } });
      const name = el('span.name', {}, el('span', { text: '' }), caret, checkbox, el('span.label', { text: depth === 0 ? child.name : child.name }));
      name.firstChild.style.width = (depth * 18) + 'px';
      name.firstChild.style.flex = 'none';
      const row = el('div.tree-row', { role: 'treeitem', dataset: { path: child.path } },
        name,
        el('span.type', { text: layer ? layer.type : '' }),
        el('span.shape', { text: layer ? '[' + layer.output_shape.join(', ') + ']' : '' }),
        el('span.num', { text: layer ? String(layer.calls) : '' }),
        el('span.num', { text: layer ? formatCount(layer.parameters) : '' }));
      if (matcher && layer && matcher(child.path, layer)) row.classList.add('match');
      rows.push(row);
      if (hasChildren && open) visit(child, depth + 1);
    }
  };
  visit(root, 0);
  container.replaceChildren(...rows);
}

function subtreeHas(node, matcher) {
  if (node.layer && matcher(node.path, node.layer)) return true;
  for (const child of node.children.values()) if (subtreeHas(child, matcher)) return true;
  return false;
}

function toggleLayer(name, on) {
  state.selection = state.selection.filter((entry) => entry !== name);
  if (on) state.selection.push(name);
  renderSelection();
}

function renderSelection() {
  const chips = () => state.selection.map((name) => el('span.chip' + (/[*?]/.test(name) ? '.glob' : ''), { dataset: { layer: name } }, name,
    el('button', { type: 'button', 'aria-label': 'remove ' + name, text: '×', onclick: () => { toggleLayer(name, false); if (!$('#view-layers').hidden) renderLayerTree(); } })));
  $('#layer-selection').replaceChildren(...chips());
  $('#inside-selection').replaceChildren(...chips());
  if (!state.selection.length) $('#inside-selection').append(el('span.note', { text: 'No layer selected: the last layer is used.' }));
}

// MARK: - Inputs (image or text)

function renderInputSlots() {
  // Typing only updates the state (re-rendering would take the focus away); a new image re-renders.
  const setter = (assign) => (input, typing) => { assign(input); if (!typing) renderInputSlots(); };
  renderInputSlot($('#inside-input'), () => state.input, setter((input) => { state.input = input; }), 'main');
  renderInputSlot($('#gradients-input'), () => state.input, setter((input) => { state.input = input; }), 'main-gradients');
  renderInputSlot($('#compare-input-a'), () => state.compareInputs.a, setter((input) => { state.compareInputs.a = input; }), 'a');
  renderInputSlot($('#compare-input-b'), () => state.compareInputs.b, setter((input) => { state.compareInputs.b = input; }), 'b');
}

function renderInputSlot(container, get, set, key) {
  const kind = state.model ? state.model.kind : 'image';
  const current = get();
  if (kind === 'text') {
    const area = el('textarea', { 'aria-label': 'Text', placeholder: 'Type a sentence…', dataset: { input: key } });
    area.value = current && current.kind === 'text' ? current.text : '';
    area.addEventListener('input', () => set({ kind: 'text', text: area.value }, true));
    container.replaceChildren(area);
    return;
  }
  if (kind !== 'image') {
    container.replaceChildren(el('p.note', { text: 'This model takes raw tensors; the Inspector draws image and text models. Use the API directly (see API docs).' }));
    return;
  }
  const file = el('input', { type: 'file', accept: 'image/png,image/jpeg', 'aria-label': 'Image file', dataset: { input: key } });
  const label = el('label.drop', {},
    current && current.kind === 'image' ? el('img', { src: current.url, alt: current.name }) : null,
    el('span', { text: current && current.kind === 'image' ? current.name : 'Drop a JPEG or PNG here, or choose one' }),
    file);
  file.addEventListener('change', () => file.files[0] && readImage(file.files[0]).then(set).catch((error) => toast(error.message)));
  label.addEventListener('dragover', (event) => { event.preventDefault(); label.classList.add('over'); });
  label.addEventListener('dragleave', () => label.classList.remove('over'));
  label.addEventListener('drop', (event) => {
    event.preventDefault();
    label.classList.remove('over');
    const dropped = event.dataTransfer.files[0];
    if (dropped) readImage(dropped).then((input) => set(input)).catch((error) => toast(error.message));
  });
  container.replaceChildren(label);
}

async function readImage(file) {
  if (!/^image\/(png|jpeg)$/.test(file.type)) throw new Error(`${file.name}: only JPEG and PNG images are accepted`);
  const buffer = await file.arrayBuffer();
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.src = url;
  await image.decode();
  return { kind: 'image', base64: btoa(binary), url, name: file.name, image };
}

/** The request fields of an input: `{image: [...]}` or `{text: [...]}`. */
function inputFields(inputs) {
  if (inputs[0].kind === 'text') return { text: inputs.map((input) => input.text) };
  return { image: inputs.map((input) => input.base64) };
}

function requireInput(input) {
  if (!state.model) throw new Error('no model is selected');
  if (!state.model.ready) throw new Error(`${state.model.name} is not loaded`);
  if (!input || (input.kind === 'text' ? !input.text.trim() : !input.base64)) {
    throw new Error(state.model.kind === 'text' ? 'type a text first' : 'choose an image first');
  }
  return input;
}

// MARK: - Look inside

/** Largest layer drawn from float32 values; above it float16, above `POOL_ABOVE` mean-pooled. */
const FLOAT16_ABOVE = 1 << 20;
const POOL_ABOVE = 1 << 23;

/** How each layer is requested, from its output shape for the default input. */
function reductionFor(name) {
  const layer = state.model.layers.find((entry) => entry.name === name);
  if (!layer) return { dtype: 'float32', pool: 'none', note: '' };
  const elements = product(layer.output_shape);
  if (elements > POOL_ABOVE && layer.output_shape.length >= 3) {
    return { dtype: 'float32', pool: 'mean', note: `mean-pooled over ${layer.output_shape.length === 4 ? 'positions' : 'tokens'}: the full layer (${formatCount(elements)} values) is too large to draw` };
  }
  if (elements > FLOAT16_ABOVE) return { dtype: 'float16', pool: 'none', note: `requested as float16 (${formatCount(elements)} values, half the bytes); values are rounded to 3 significant digits` };
  return { dtype: 'float32', pool: 'none', note: '' };
}

async function runInside() {
  const input = requireInput(state.input);
  const names = state.selection.length ? state.selection.slice() : [-1];
  // One request per reduction (dtype and pooling are per request).
  const groups = new Map();
  for (const name of names) {
    const reduction = typeof name === 'string' ? reductionFor(name) : { dtype: 'float32', pool: 'none', note: '' };
    const key = reduction.dtype + '/' + reduction.pool;
    if (!groups.has(key)) groups.set(key, { reduction, layers: [] });
    groups.get(key).layers.push(name);
  }
  const started = performance.now();
  const results = [];
  let firstRequest = null;
  for (const group of groups.values()) {
    const request = { ...inputFields([input]), layers: group.layers, encoding: 'base64', dtype: group.reduction.dtype };
    if (group.reduction.pool !== 'none') request.pool = group.reduction.pool;
    if (!firstRequest) firstRequest = request;
    const response = await api.json('POST', modelPath(state.model.name, '/features'), { json: request });
    for (const [name, tensor] of Object.entries(response.features)) {
      results.push({ name, tensor: decodeTensor(tensor), note: group.reduction.note, timing: response.timing_ms });
    }
  }
  state.lastRequest = { model: state.model.name, request: { ...firstRequest, layers: names }, inputName: input.kind === 'image' ? input.name : null };
  // After the features: a text the model cannot take fails there, with the features' error.
  const tokens = input.kind === 'text' ? await tokenize(input.text) : null;
  const container = $('#inside-results');
  container.replaceChildren(...results.map((result) => layerCard(result, input, tokens)));
  $('#inside-status').textContent = `${results.length} layer${results.length === 1 ? '' : 's'} in ${Math.round(performance.now() - started)} ms`;
}

/**
 * The model's tokens for `text` from `POST v1/models/{name}/tokenize`: `{tokens, special}`. The
 * features request tokenizes the same way (same default truncation), so there is a token per row.
 */
async function tokenize(text) {
  const body = await api.json('POST', modelPath(state.model.name, '/tokenize'), { json: { text: [text] } });
  const { tokens, special } = body.inputs[0];
  return { tokens, special };
}

/** Row labels of a [N, T, H] layer: the tokenizer's tokens for text, positions otherwise (ViT's patches). */
function tokenLabels(tokens, count) {
  if (!tokens) return Array.from({ length: count }, (_, index) => ({ text: '#' + index, special: false }));
  if (tokens.tokens.length !== count) throw new Error(`the tokenizer returned ${tokens.tokens.length} tokens for a layer of ${count} rows`);
  return tokens.tokens.map((token, index) => ({ text: token, special: tokens.special[index] }));
}

function layerCard(result, input, tokens) {
  const { name, tensor } = result;
  const shape = tensor.shape;
  const perRow = product(shape.slice(1));
  const values = tensor.values.subarray(0, perRow);
  const [low, high] = range(values);
  const layer = state.model.layers.find((entry) => entry.name === name);
  const header = el('header', {},
    el('h3', { text: name }),
    el('span.meta', { text: `${layer ? layer.type + ' · ' : ''}[${shape.join(', ')}] ${tensor.dtype} · range ${formatNumber(low)} … ${formatNumber(high)}` }),
    result.note ? el('span.reduction', { text: result.note }) : null);
  const card = el('section.layer-card', { dataset: { layer: name, low: String(low), high: String(high) } }, header);
  let body;
  if (shape.length === 4) body = channelGrid(name, shape, values, low, high, input);
  else if (shape.length === 3) body = tokenMap(name, shape, values, low, high, tokens);
  else body = vectorStrip(name, values, low, high);
  card.append(el('div.layer-body', {}, body, el('div.side-stats', {}, colourScale(low, high), histogram(values, low, high))));
  return card;
}

/** One canvas per channel (native resolution, scaled by CSS without smoothing), sorted by mean. */
function channelGrid(name, shape, values, low, high, input) {
  const [, channels, height, width] = shape;
  const area = height * width;
  const perChannel = $('#inside-scale').value === 'channel';
  const limit = Number($('#inside-limit').value) || channels;
  const means = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = c * area; i < (c + 1) * area; i++) sum += values[i];
    means.push({ channel: c, mean: sum / area });
  }
  means.sort((a, b) => b.mean - a.mean || a.channel - b.channel);
  const grid = el('div.channel-grid', { dataset: { channels: String(channels), scale: perChannel ? 'channel' : 'layer' } });
  for (const { channel, mean } of means.slice(0, limit)) {
    const start = channel * area;
    const [lo, hi] = perChannel ? range(values, start, start + area) : [low, high];
    const canvas = heatmapCanvas(values, start, width, height, lo, hi);
    canvas.dataset.channel = String(channel);
    canvas.dataset.low = String(lo);
    canvas.dataset.high = String(hi);
    grid.append(el('button.channel', { type: 'button', title: `channel ${channel}: mean ${formatNumber(mean)}`, onclick: () => zoomChannel(name, channel, values, start, width, height, lo, hi, input) },
      canvas, el('span', { text: `#${channel} · ${formatNumber(mean)}` })));
  }
  const shown = Math.min(limit, channels);
  return el('div', {}, el('p.note', { text: `${shown} of ${channels} channels, by mean activation (highest first); ${height}×${width} each; colour scale ${perChannel ? 'per channel' : 'shared by the layer'}. Click one to see it over the input.` }), grid);
}

/** A canvas of `width × height` values from `values[start…]`, coloured over [low, high]. */
function heatmapCanvas(values, start, width, height, low, high) {
  const canvas = el('canvas', { width: String(width), height: String(height) });
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = colourAt(normalized(values[start + i], low, high));
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** Transformer layers [N, T, H]: tokens × hidden units, and each token's L2 norm. */
function tokenMap(name, shape, values, low, high, tokens) {
  const [, count, hidden] = shape;
  const canvas = heatmapCanvas(values, 0, hidden, count, low, high);
  canvas.classList.add('tokens');
  canvas.dataset.tokens = String(count);
  const rowHeight = Math.max(14, Math.min(26, Math.floor(420 / count)));
  canvas.style.height = (rowHeight * count) + 'px';
  const labels = tokenLabels(tokens, count);
  const note = tokens ? 'Tokens from POST v1/models/{name}/tokenize.' : 'Rows are token positions.';
  const norms = [];
  for (let t = 0; t < count; t++) {
    let sum = 0;
    for (let h = 0; h < hidden; h++) sum += values[t * hidden + h] ** 2;
    norms.push(Math.sqrt(sum));
  }
  const maxNorm = Math.max(...norms, 1e-12);
  const labelColumn = el('div.token-labels', { 'aria-label': 'tokens' },
    labels.map((label) => { const span = el('span' + (label.special ? '.special' : ''), { text: label.text, class: 'token' + (label.special ? ' special' : '') }); span.style.height = rowHeight + 'px'; return span; }));
  const normColumn = el('div.token-norms', { 'aria-label': 'token norms' },
    norms.map((norm) => {
      const bar = el('i');
      bar.style.width = Math.max(1, Math.round(70 * norm / maxNorm)) + 'px';
      const row = el('div', { title: 'L2 norm ' + formatNumber(norm) }, bar, formatNumber(norm));
      row.style.height = rowHeight + 'px';
      return row;
    }));
  return el('div', {},
    el('p.note', { text: `${count} tokens × ${hidden} hidden units; right: each token's L2 norm. ${note}` }),
    el('div.token-map', {}, labelColumn, canvas, normColumn));
}

function vectorStrip(name, values, low, high) {
  const canvas = heatmapCanvas(values, 0, values.length, 1, low, high);
  return el('div.vector', {}, el('p.note', { text: `${values.length} values, left to right.` }), canvas);
}

function colourScale(low, high) {
  const canvas = el('canvas', { width: '256', height: '1' });
  const context = canvas.getContext('2d');
  const image = context.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = colourAt(i / 255);
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return el('div.scale', {}, el('span', { text: 'Colour scale' }), canvas,
    el('div.ends', {}, el('span', { text: formatNumber(low) }), el('span', { text: formatNumber((low + high) / 2) }), el('span', { text: formatNumber(high) })));
}

function histogram(values, low, high, bins = 40) {
  const counts = new Array(bins).fill(0);
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    const index = high > low ? Math.min(bins - 1, Math.floor((value - low) / (high - low) * bins)) : 0;
    counts[index] += 1;
  }
  const most = Math.max(...counts, 1);
  const width = 240, height = 100;
  const bars = counts.map((count, index) => {
    const barHeight = count ? Math.max(1, Math.sqrt(count / most) * (height - 4)) : 0;
    return svg('rect', { x: (index * width / bins + 0.5).toFixed(1), y: (height - barHeight).toFixed(1), width: (width / bins - 1).toFixed(1), height: barHeight.toFixed(1) },
      svg('title', {}, `${count} values`));
  });
  return el('div.histogram', {}, el('span.note', { text: `Histogram of ${values.length.toLocaleString('en')} values (square-root scale)` }),
    svg('svg', { viewBox: `0 0 ${width} ${height + 1}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'histogram' }, bars,
      svg('line', { class: 'axis', x1: 0, x2: width, y1: height + 0.5, y2: height + 0.5 })));
}

// MARK: - Overlays on the input image

/** The crop of the original image the model saw: torchvision's resize (shorter side) + center crop. */
function modelCrop(image) {
  const preprocessing = (state.model.config && state.model.config.preprocessing) || null;
  const number = (value) => (Array.isArray(value) ? value : typeof value === 'number' ? [value, value] : null);
  const resize = preprocessing ? preprocessing.resize_size : 256;
  const crop = number(preprocessing ? preprocessing.crop_size : 224);
  const width = image.naturalWidth, height = image.naturalHeight;
  let scaleX = 1, scaleY = 1;
  if (typeof resize === 'number') scaleX = scaleY = resize / Math.min(width, height);
  else if (Array.isArray(resize)) { scaleY = resize[0] / height; scaleX = resize[1] / width; }
  if (!crop) return { x: 0, y: 0, width, height };
  const cropHeight = Math.min(height, crop[0] / scaleY), cropWidth = Math.min(width, crop[1] / scaleX);
  return { x: (width - cropWidth) / 2, y: (height - cropHeight) / 2, width: cropWidth, height: cropHeight };
}

/** The input image (cropped as the model saw it) with a heatmap canvas stacked over it. */
function overlayStack(input, heatmap, size, opacity) {
  const base = el('canvas.base', { width: String(size), height: String(size) });
  const context = base.getContext('2d');
  if (input && input.kind === 'image') {
    const crop = modelCrop(input.image);
    context.drawImage(input.image, crop.x, crop.y, crop.width, crop.height, 0, 0, size, size);
  } else {
    context.fillStyle = '#222';
    context.fillRect(0, 0, size, size);
  }
  heatmap.classList.add('overlay');
  heatmap.style.opacity = String(opacity);
  return el('div.overlay-stack', {}, base, heatmap);
}

function zoomChannel(name, channel, values, start, width, height, low, high, input) {
  const heatmap = heatmapCanvas(values, start, width, height, low, high);
  heatmap.dataset.channel = String(channel);
  const stack = overlayStack(input, heatmap, 512, Number($('#zoom-opacity').value) / 100);
  $('#zoom-title').textContent = `${name} · channel ${channel}`;
  $('#zoom-stack').replaceWith(Object.assign(stack, { id: 'zoom-stack' }));
  $('#zoom-dialog').showModal();
}

// MARK: - Gradients

function renderGradientControls() {
  const model = state.model;
  const text = model && model.kind === 'text';
  $('#gradients-vision').hidden = Boolean(text);
  $('#gradients-text').hidden = !text;
  if (!model) return;
  const convolutional = model.layers.filter(spatial);
  const preferred = convolutional.filter((layer) => !layer.name.includes('.'));
  const options = (preferred.length ? preferred : convolutional).map((layer) => el('option', { value: layer.name, text: layer.name }));
  $('#gradients-layer').replaceChildren(...options);
  if (options.length) $('#gradients-layer').value = options[options.length - 1].value;
  // Attention rollout is offered for the vision transformers (it needs self-attention and a class token).
  const rolloutOption = $('#gradients-method option[value=attention_rollout]');
  if (/^(vit|dinov2|clip)/.test(model.architecture)) {
    if (!rolloutOption) $('#gradients-method').append(el('option', { value: 'attention_rollout', text: 'Attention rollout' }));
  } else if (rolloutOption) {
    if ($('#gradients-method').value === 'attention_rollout') $('#gradients-method').value = 'gradcam';
    rolloutOption.remove();
  }
  const blocks = model.layers.filter((layer) => /^encoder\.layer\.\d+$/.test(layer.name) || layer.name === 'last_hidden_state');
  $('#gradients-text-layer').replaceChildren(...blocks.map((layer) => el('option', { value: layer.name, text: layer.name })));
  if (blocks.length) $('#gradients-text-layer').value = blocks[blocks.length - 1].name;
  $('#gradients-top').replaceChildren();
}

/** The top-5 classes of the model's output (softmax of the last layer) for the current input. */
async function topClasses(input) {
  const response = await api.json('POST', modelPath(state.model.name, '/features'), { json: { ...inputFields([input]), layers: [-1], encoding: 'base64' } });
  const tensor = decodeTensor(Object.values(response.features)[0]);
  const logits = tensor.values.subarray(0, product(tensor.shape.slice(1)));
  const [, high] = range(logits);
  let sum = 0;
  const exps = Array.from(logits, (logit) => { const e = Math.exp(logit - high); sum += e; return e; });
  return exps.map((e, index) => ({ index, probability: e / sum })).sort((a, b) => b.probability - a.probability).slice(0, 5);
}

async function runGradients(chooseTop) {
  const input = requireInput(state.input);
  if (state.model.kind === 'text') return runTextAttribution(input);
  const classes = await topClasses(input);
  const list = $('#gradients-top');
  if (chooseTop || !list.children.length) $('#gradients-class').value = String(classes[0].index);
  const chosen = Number($('#gradients-class').value);
  list.replaceChildren(...classes.map((entry) => {
    const bar = el('div.bar');
    bar.style.width = Math.max(2, Math.round(entry.probability * 100)) + '%';
    return el('button' + (entry.index === chosen ? '.active' : ''), { type: 'button', dataset: { class: String(entry.index) },
      onclick: () => { $('#gradients-class').value = String(entry.index); busy('Computing', () => runGradients(false)); } },
    el('span', {}, el('strong', { text: 'class ' + entry.index }), ' ', (entry.probability * 100).toFixed(1) + '%'), el('span', {}, bar));
  }));
  // Every method but saliency and attention rollout is a class-activation map of the chosen layer
  // (`<method>:<layer>`); attention rollout is one map over the patch grid, with no class and no layer.
  const method = $('#gradients-method').value;
  const methodTitle = $('#gradients-method').selectedOptions[0].textContent;
  const rollout = method === 'attention_rollout';
  const classActivationMap = method !== 'saliency' && !rollout;
  const layer = $('#gradients-layer').value;
  const request = rollout ? { image: [input.base64], method, encoding: 'base64' }
    : { image: [input.base64], target: { class: chosen }, method, encoding: 'base64' };
  if (classActivationMap) request.layers = [layer];
  const response = await api.json('POST', modelPath(state.model.name, '/attributions'), { json: request });
  const key = rollout ? 'attention_rollout' : classActivationMap ? method + ':' + layer : 'input_grad';
  const tensor = decodeTensor(response.attributions[key]);
  let map, height, width;
  if (classActivationMap || rollout) {
    [height, width] = tensor.shape.slice(-2);
    map = tensor.values.subarray(0, height * width);
  } else {
    // Saliency: the largest absolute gradient over the colour channels, per pixel.
    const [, channels, h, w] = tensor.shape;
    height = h; width = w;
    map = new Float32Array(h * w);
    for (let c = 0; c < channels; c++) for (let i = 0; i < h * w; i++) map[i] = Math.max(map[i], Math.abs(tensor.values[c * h * w + i]));
  }
  const [low, high] = range(map);
  const heatmap = heatmapCanvas(map, 0, width, height, low, high);
  heatmap.id = 'gradients-overlay';
  heatmap.dataset.key = key;
  heatmap.dataset.low = String(low);
  heatmap.dataset.high = String(high);
  const stack = overlayStack(input, heatmap, 448, Number($('#gradients-opacity').value) / 100);
  $('#gradients-results').replaceChildren(el('section.layer-card', { dataset: { key } },
    el('header', {}, el('h3', { text: rollout ? 'Attention rollout (patches → class token, every layer)'
      : classActivationMap ? `${methodTitle} of ${layer}` : 'Saliency (|∂ logit / ∂ input|, max over colour channels)' }),
      el('span.meta', { text: `${rollout ? 'any class' : 'class ' + chosen} · [${tensor.shape.join(', ')}] · range ${formatNumber(low)} … ${formatNumber(high)} · ${Math.round(response.timing_ms.compute)} ms` })),
    el('div.cam-layout', {}, stack, el('div.side-stats', {}, colourScale(low, high), histogram(map, low, high),
      el('p.note', { text: 'Left: the input as the model saw it (resized and center-cropped), with the map stretched over it. The opacity slider fades the map.' })))));
}

async function runTextAttribution(input) {
  const layer = $('#gradients-text-layer').value;
  // Attention rollout: one value per token (the [CLS] row of the rollout); saliency: a gradient per token.
  const rollout = $('#gradients-text-method').value === 'attention_rollout';
  const request = rollout ? { text: [input.text], method: 'attention_rollout', encoding: 'base64' }
    : { text: [input.text], target: { layer, reduce: 'l2' }, method: 'saliency', layers: ['embeddings'], encoding: 'base64' };
  const [response, tokens] = await Promise.all([
    api.json('POST', modelPath(state.model.name, '/attributions'), { json: request }),
    tokenize(input.text),
  ]);
  const tensor = decodeTensor(response.attributions[rollout ? 'attention_rollout' : 'grad:embeddings']);
  const count = tensor.shape[1], hidden = rollout ? 1 : tensor.shape[2];
  const scores = [];
  for (let t = 0; t < count; t++) {
    let sum = 0;
    for (let h = 0; h < hidden; h++) sum += tensor.values[t * hidden + h] ** 2;
    scores.push(Math.sqrt(sum));
  }
  const [low, high] = range(scores);
  const labels = tokenLabels(tokens, count);
  const opacity = Number($('#gradients-opacity').value) / 100;
  const spans = labels.map((label, index) => {
    const [r, g, b] = colourAt(normalized(scores[index], low, high));
    const span = el('span.token', { text: label.text, title: (rollout ? 'rollout ' : 'gradient norm ') + formatNumber(scores[index]), dataset: { score: String(scores[index]) } });
    span.style.background = `rgba(${r}, ${g}, ${b}, ${opacity})`;
    span.style.color = normalized(scores[index], low, high) > 0.6 || opacity < 0.5 ? '#111' : '#fff';
    return span;
  });
  $('#gradients-results').replaceChildren(el('section.layer-card', {},
    el('header', {}, el('h3', { text: rollout ? 'Attention rollout (tokens → [CLS], every layer)' : `Token attribution for ‖${layer}‖` }),
      el('span.meta', { text: `${rollout ? 'rollout' : 'gradient norm'} per token · range ${formatNumber(low)} … ${formatNumber(high)}` })),
    el('div.token-text', {}, spans),
    colourScale(low, high)));
}

// MARK: - Compare

async function runCompare() {
  const a = requireInput(state.compareInputs.a), b = requireInput(state.compareInputs.b);
  const depth = $('#compare-depth').value;
  let layers;
  const text = a.kind === 'text';
  if (depth === 'selected') layers = state.selection.slice();
  else {
    // Top-level modules, or blocks: the items of module lists (`layer1.0`, `encoder.layer.3`) and
    // the top-level modules that hold none.
    const names = state.model.layers.filter((layer) => !text || layer.output_shape.length === 3).map((layer) => layer.name);
    const blocks = names.filter((name) => /\.\d+$/.test(name) && !/\.\d+\./.test(name));
    layers = depth === '1' || !blocks.length
      ? names.filter((name) => !name.includes('.') && !/_\d+$/.test(name))
      : names.filter((name) => blocks.includes(name) || (!name.includes('.') && !/_\d+$/.test(name) && !blocks.some((block) => block.startsWith(name + '.'))));
  }
  if (!layers.length) throw new Error('no layers to compare');
  // Texts differ in length: their token rows are averaged (padding excluded); images share a shape.
  const request = { ...inputFields([a, b]), layers, encoding: 'base64', dtype: 'float16' };
  if (text) request.pool = 'mean';
  const response = await api.json('POST', modelPath(state.model.name, '/features'), { json: request });
  const points = [];
  for (const name of layers) {
    const tensor = response.features[name];
    if (!tensor) continue;
    const decoded = decodeTensor(tensor);
    const half = decoded.values.length / 2;
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < half; i++) {
      const x = decoded.values[i], y = decoded.values[half + i];
      dot += x * y; na += x * x; nb += y * y;
    }
    points.push({ name, similarity: na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0 });
  }
  const reduction = text ? 'token vectors mean-pooled (padding excluded), float16' : 'whole activations flattened, float16';
  $('#compare-results').replaceChildren(el('h2', { text: 'Cosine similarity by layer' }),
    el('p.note', { text: `${points.length} layers in call order; ${reduction}.` }), similarityChart(points));
  $('#compare-status').textContent = `${Math.round(response.timing_ms.compute)} ms compute`;
}

function similarityChart(points) {
  const width = 1000, height = 340, left = 48, right = 16, top = 14, bottom = 110;
  const values = points.map((point) => point.similarity);
  const low = Math.min(0, ...values), high = 1;
  const x = (index) => left + (points.length > 1 ? index * (width - left - right) / (points.length - 1) : (width - left - right) / 2);
  const y = (value) => top + (high - value) / (high - low) * (height - top - bottom);
  const grid = [];
  for (let tick = Math.ceil(low * 4) / 4; tick <= high + 1e-9; tick += 0.25) {
    grid.push(svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(tick), y2: y(tick) }),
      svg('text', { x: left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, tick.toFixed(2)));
  }
  const path = points.map((point, index) => `${index ? 'L' : 'M'}${x(index).toFixed(1)},${y(point.similarity).toFixed(1)}`).join(' ');
  const labelEvery = Math.max(1, Math.ceil(points.length / 40));
  return el('div.chart', {}, svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'cosine similarity by layer' },
    grid,
    svg('path', { class: 'line', d: path }),
    points.map((point, index) => svg('circle', { class: 'dot', cx: x(index), cy: y(point.similarity), r: 3.5, 'data-layer': point.name, 'data-similarity': String(point.similarity) },
      svg('title', {}, `${point.name}: ${point.similarity.toFixed(4)}`))),
    points.map((point, index) => (index % labelEvery ? null : svg('text', { x: x(index), y: height - bottom + 14, transform: `rotate(50 ${x(index)} ${height - bottom + 14})` }, point.name)))));
}

// MARK: - Export

function renderExport() {
  const last = state.lastRequest;
  $('#export-json').disabled = $('#export-safetensors').disabled = !last;
  if (!last) return;
  const shown = { ...last.request };
  if (shown.image) shown.image = shown.image.map(() => `<base64 of ${last.inputName || 'the image'}>`);
  $('#export-request').textContent = `POST ${modelPath(last.model, '/features')}\n` + JSON.stringify(shown, null, 2);
  $('#export-curl').textContent = curlCommand(last);
}

/** A shell command that sends the same request (the token comes from $PERISCOPE_TOKEN, never from here). */
function curlCommand(last) {
  const base = new URL('.', location.href).href;
  const quote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
  const body = { ...last.request, encoding: 'json' };
  let data;
  if (body.image) {
    const file = last.inputName || 'image.png';
    const rest = { ...body };
    delete rest.image;
    const json = JSON.stringify(rest);
    data = `"$(printf '{"image": ["%s"], %s' "$(base64 -w0 ${quote(file)})" ${quote(json.slice(1))})"`;
  } else {
    data = quote(JSON.stringify(body));
  }
  return [`curl -sS ${quote(base + modelPath(last.model, '/features'))}`,
    `  -H 'Content-Type: application/json'`,
    `  \${PERISCOPE_TOKEN:+-H "Authorization: Bearer $PERISCOPE_TOKEN"}`,
    `  -d ${data}`].join(' \\\n');
}

async function download(format) {
  const last = state.lastRequest;
  if (!last) return;
  const safetensors = format === 'safetensors';
  const request = { ...last.request, encoding: 'json' };
  const response = await api.request('POST', modelPath(last.model, '/features'), { json: request, accept: safetensors ? 'application/octet-stream' : 'application/json' });
  if (!response.ok) throw await ApiError.from(response);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: `${last.model}-features.${safetensors ? 'safetensors' : 'json'}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  $('#export-status').textContent = `${formatBytes(blob.size)} downloaded`;
}

async function copyCurl() {
  const text = $('#export-curl').textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const selection = window.getSelection();
    const rangeToCopy = document.createRange();
    rangeToCopy.selectNodeContents($('#export-curl'));
    selection.removeAllRanges();
    selection.addRange(rangeToCopy);
    document.execCommand('copy');
  }
  toast('Command copied.', 'info');
}

// MARK: - Start

function wire() {
  $('#model-select').addEventListener('change', (event) => busy('Loading model', () => selectModel(event.target.value)));
  $('#models-refresh').addEventListener('click', () => busy('Refreshing', loadModels));
  $('#auth-button').addEventListener('click', () => busy('Authenticating', async () => { await api.askForToken(null); await loadModels(); }));
  $('#token-form').addEventListener('submit', (event) => { event.preventDefault(); $('#token-dialog').close('use'); });
  $('#token-forget').addEventListener('click', () => { api.token = null; updateAuthButton(); $('#token-dialog').close('forget'); });
  $('#layer-search').addEventListener('input', renderLayerTree);
  $('#layer-select-glob').addEventListener('click', () => {
    const matcher = layerMatches($('#layer-search').value.trim());
    if (!matcher || !state.model) return;
    for (const layer of state.model.layers) if (matcher(layer.name, layer) && !state.selection.includes(layer.name)) state.selection.push(layer.name);
    renderSelection();
    renderLayerTree();
  });
  $('#layer-add-glob').addEventListener('click', () => {
    const glob = $('#layer-search').value.trim();
    if (glob && !state.selection.includes(glob)) state.selection.push(glob);
    renderSelection();
  });
  $('#layer-expand').addEventListener('click', () => {
    if (state.model) for (const layer of state.model.layers) { const parts = layer.name.split('.'); for (let i = 1; i < parts.length; i++) treeExpanded.add(parts.slice(0, i).join('.')); }
    renderLayerTree();
  });
  $('#layer-collapse').addEventListener('click', () => { treeExpanded = new Set(); renderLayerTree(); });
  $('#layer-clear').addEventListener('click', () => { state.selection = []; renderSelection(); renderLayerTree(); });
  const addTyped = () => {
    const name = $('#inside-layer-input').value.trim();
    if (name && !state.selection.includes(name)) state.selection.push(name);
    $('#inside-layer-input').value = '';
    renderSelection();
  };
  $('#inside-layer-add').addEventListener('click', addTyped);
  $('#inside-layer-input').addEventListener('keydown', (event) => { if (event.key === 'Enter') addTyped(); });
  $('#inside-run').addEventListener('click', () => busy('Looking inside', runInside));
  $('#gradients-run').addEventListener('click', () => busy('Computing', () => runGradients(true)));
  $('#gradients-opacity').addEventListener('input', (event) => {
    const opacity = Number(event.target.value) / 100;
    const overlay = $('#gradients-overlay');
    if (overlay) overlay.style.opacity = String(opacity);
    for (const span of $$('.token-text span')) span.style.background = span.style.background.replace(/[\d.]+\)$/, opacity + ')');
  });
  $('#zoom-opacity').addEventListener('input', (event) => { const overlay = $('#zoom-stack canvas.overlay'); if (overlay) overlay.style.opacity = String(Number(event.target.value) / 100); });
  $('#zoom-close').addEventListener('click', () => $('#zoom-dialog').close());
  $('#compare-run').addEventListener('click', () => busy('Comparing', runCompare));
  $('#export-json').addEventListener('click', () => busy('Downloading', () => download('json')));
  $('#export-safetensors').addEventListener('click', () => busy('Downloading', () => download('safetensors')));
  $('#export-copy').addEventListener('click', copyCurl);
}

async function start() {
  wire();
  showView(location.hash.slice(1) || 'models');
  await busy('Connecting', async () => {
    try {
      await loadModels();
    } catch (error) {
      $('#server-status').textContent = error instanceof AuthCancelled ? 'A bearer token is needed: use the Token button.' : 'Cannot list the models: ' + error.message;
      throw error;
    }
  });
  renderSelection();
  document.body.dataset.ready = 'true';
}

start();
