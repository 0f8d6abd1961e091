// Periscope API docs: reads openapi.yaml (served next to this page) and renders it as navigable
// documentation. Written for this project: a YAML reader for the subset the description uses
// (block mappings and sequences, flow collections, quoted and block scalars, comments) and a
// renderer for OpenAPI 3.1 (operations by tag, parameters, bodies, responses, schemas with links).
'use strict';

window.inspectorErrors = [];
window.addEventListener('error', (event) => window.inspectorErrors.push(String(event.message || event)));

// MARK: - YAML (subset)

function parseYAML(text) {
  const lines = text.split('\n').map((raw) => ({ raw, indent: raw.search(/\S/) }));
  let index = 0;

  const isBlank = (line) => line.indent < 0 || line.raw.trimStart().startsWith('#');
  const skipBlank = () => { while (index < lines.length && isBlank(lines[index])) index++; };

  function stripComment(value) {
    let quote = null;
    for (let i = 0; i < value.length; i++) {
      const character = value[i];
      if (quote) { if (character === quote) quote = null; continue; }
      if (character === '"' || character === "'") { if (i === 0 || /[\s[{,:]/.test(value[i - 1])) quote = character; continue; }
      if (character === '#' && (i === 0 || /\s/.test(value[i - 1]))) return value.slice(0, i).trimEnd();
    }
    return value.trimEnd();
  }

  function scalar(value) {
    value = value.trim();
    if (value === '' || value === '~' || value === 'null') return null;
    if (value === 'true') return true;
    if (value === 'false') return false;
    if (value.startsWith('"')) return JSON.parse(value);
    if (value.startsWith("'")) return value.slice(1, -1).replace(/''/g, "'");
    if (value.startsWith('[') || value.startsWith('{')) return flow(value);
    if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
    return value;
  }

  /** Flow collections: `[a, "b", {c: 1}]`, `{}`. */
  function flow(text) {
    let position = 0;
    const space = () => { while (/\s/.test(text[position] || '')) position++; };
    function value() {
      space();
      const character = text[position];
      if (character === '[') {
        position++;
        const items = [];
        space();
        if (text[position] === ']') { position++; return items; }
        for (;;) { items.push(value()); space(); if (text[position] === ',') { position++; continue; } position++; return items; }
      }
      if (character === '{') {
        position++;
        const object = {};
        space();
        if (text[position] === '}') { position++; return object; }
        for (;;) {
          space();
          const key = plain(':');
          position++;
          object[key] = value();
          space();
          if (text[position] === ',') { position++; continue; }
          position++;
          return object;
        }
      }
      if (character === '"' || character === "'") {
        const end = text.indexOf(character, position + 1);
        const raw = text.slice(position, end + 1);
        position = end + 1;
        return scalar(raw);
      }
      return scalar(plain(',]}'));
    }
    function plain(stops) {
      const start = position;
      while (position < text.length && !stops.includes(text[position])) position++;
      return text.slice(start, position).trim();
    }
    return value();
  }

  /** A block scalar after `|` or `>` (with `-` to strip the final newline). */
  function blockScalar(indicator, parentIndent) {
    const folded = indicator.startsWith('>');
    const strip = indicator.includes('-');
    const collected = [];
    let blockIndent = -1;
    while (index < lines.length) {
      const line = lines[index];
      if (line.indent >= 0 && line.indent <= parentIndent) break;
      if (line.indent >= 0 && blockIndent < 0) blockIndent = line.indent;
      collected.push(line.indent < 0 ? '' : line.raw.slice(blockIndent));
      index++;
    }
    while (collected.length && collected[collected.length - 1] === '') collected.pop();
    let text;
    if (folded) {
      text = '';
      collected.forEach((line, i) => {
        if (i === 0) text = line;
        else if (line === '' || /^\s/.test(line) || collected[i - 1] === '' || /^\s/.test(collected[i - 1])) text += '\n' + line;
        else text += ' ' + line;
      });
    } else {
      text = collected.join('\n');
    }
    return strip ? text : text + '\n';
  }

  function block(indent) {
    skipBlank();
    if (index >= lines.length) return null;
    const line = lines[index];
    if (line.raw.trimStart().startsWith('- ') || line.raw.trim() === '-') return sequence(line.indent);
    return mapping(line.indent);
  }

  function value(rest, indent) {
    rest = stripComment(rest).trim();
    if (rest === '') {
      skipBlank();
      if (index < lines.length && (lines[index].indent > indent || (lines[index].indent === indent && lines[index].raw.trimStart().startsWith('- ')))) return block(lines[index].indent);
      return null;
    }
    if (/^[|>][-+]?$/.test(rest)) return blockScalar(rest, indent);
    return scalar(rest);
  }

  function mapping(indent) {
    const object = {};
    for (;;) {
      skipBlank();
      if (index >= lines.length || lines[index].indent !== indent || lines[index].raw.trimStart().startsWith('- ')) return object;
      const text = lines[index].raw.slice(indent);
      const match = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#]+?)\s*:(\s|$)(.*)$/.exec(text);
      if (!match) throw new Error(`openapi.yaml line ${index + 1}: expected "key: value"`);
      index++;
      const key = String(scalar(match[1]));
      object[key] = value(match[3], indent);
    }
  }

  function sequence(indent) {
    const items = [];
    for (;;) {
      skipBlank();
      if (index >= lines.length || lines[index].indent !== indent || !lines[index].raw.trimStart().startsWith('-')) return items;
      const rest = lines[index].raw.slice(indent + 1);
      const content = rest.trimStart();
      if (content === '' || content.startsWith('#')) { index++; items.push(value('', indent)); continue; }
      const itemIndent = indent + 1 + (rest.length - content.length);
      if (/^("[^"]*"|'[^']*'|[^:#[{"']+?)\s*:(\s|$)/.test(content)) {
        // A mapping that starts on the dash's line: read it as if the dash were a space.
        lines[index] = { raw: ' '.repeat(itemIndent) + content, indent: itemIndent };
        items.push(mapping(itemIndent));
      } else {
        index++;
        items.push(value(content, indent));
      }
    }
  }

  return block(0);
}
window.parseYAML = parseYAML;

// MARK: - Rendering helpers

const $ = (selector, root = document) => root.querySelector(selector);

function el(spec, attributes = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** Inline markdown: `code`, **bold**, [text](url). */
function inline(text) {
  const nodes = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)/g;
  let last = 0, match;
  while ((match = pattern.exec(text))) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    if (match[1] !== undefined) nodes.push(el('code', { text: match[1] }));
    else if (match[2] !== undefined) nodes.push(el('strong', { text: match[2] }));
    else nodes.push(el('a', { href: /^(https?:|#)/.test(match[4]) ? match[4] : '#', text: match[3], rel: 'noreferrer' }));
    last = pattern.lastIndex;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** Block markdown: paragraphs and `*`/`-` lists. */
function markdown(text) {
  const container = el('div.md');
  if (!text) return container;
  for (const chunk of String(text).trim().split(/\n\s*\n/)) {
    const lines = chunk.split('\n');
    if (lines.every((line) => /^\s*[*-] /.test(line) || /^\s{2,}\S/.test(line))) {
      const list = el('ul');
      for (const line of lines) {
        if (/^\s*[*-] /.test(line)) list.append(el('li', {}, inline(line.replace(/^\s*[*-] /, ''))));
        else if (list.lastChild) list.lastChild.append(' ', ...inline(line.trim()));
      }
      container.append(list);
    } else {
      container.append(el('p', {}, inline(lines.join(' '))));
    }
  }
  return container;
}

function anchor(...parts) {
  return parts.join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

// MARK: - OpenAPI

let spec = null;

function resolve(reference) {
  const path = reference.replace(/^#\//, '').split('/');
  let node = spec;
  for (const part of path) node = node ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return node;
}

function deref(node) {
  let guard = 0;
  while (node && node.$ref && guard++ < 20) node = resolve(node.$ref);
  return node || {};
}

function schemaLink(reference) {
  const name = reference.split('/').pop();
  return el('a', { href: '#schema-' + anchor(name), text: name });
}

/** A one-line description of a schema's type, with links to named schemas. */
function typeOf(schema) {
  if (!schema) return ['any'];
  if (schema.$ref) return [schemaLink(schema.$ref)];
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (Array.isArray(schema[key]) && !schema.properties) {
      const parts = [];
      schema[key].forEach((option, i) => { if (i) parts.push(key === 'allOf' ? ' & ' : ' | '); parts.push(...typeOf(option)); });
      return parts;
    }
  }
  let type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type || (schema.properties ? 'object' : 'any');
  if (type === 'array') return ['array of ', ...typeOf(schema.items)];
  const extras = [];
  if (schema.enum) extras.push('one of ' + schema.enum.map((value) => JSON.stringify(value)).join(', '));
  if (schema.const !== undefined) extras.push('= ' + JSON.stringify(schema.const));
  if (schema.pattern) extras.push('pattern ' + schema.pattern);
  if (schema.format) extras.push(schema.format);
  if (schema.minimum !== undefined) extras.push('≥ ' + schema.minimum);
  if (schema.maximum !== undefined) extras.push('≤ ' + schema.maximum);
  if (schema.default !== undefined) extras.push('default ' + JSON.stringify(schema.default));
  if (type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    return ['object of ', ...typeOf(schema.additionalProperties), extras.length ? ` (${extras.join('; ')})` : ''];
  }
  return [type + (extras.length ? ` (${extras.join('; ')})` : '')];
}

/** A schema's properties as a nested list (one level; named schemas are links). */
function schemaView(schema, depth = 0) {
  const view = el('div.schema');
  if (!schema) return view;
  if (schema.$ref) {
    view.append(el('div', {}, el('span.ptype', {}, typeOf(schema))));
    return view;
  }
  if (schema.description && depth === 0) view.append(markdown(schema.description));
  const required = new Set(schema.required || []);
  const properties = schema.properties || {};
  if (!Object.keys(properties).length) {
    view.append(el('div', {}, el('span.ptype', {}, typeOf(schema))));
  }
  for (const [name, property] of Object.entries(properties)) {
    const resolved = property.$ref ? {} : property;
    view.append(el('div.prop', {},
      el('span.pname', { text: name }), ' ', el('span.ptype', {}, typeOf(property)),
      required.has(name) ? el('span.req', { text: ' required' }) : null,
      resolved.description ? el('div.pdesc', {}, inline(resolved.description.replace(/\n/g, ' '))) : null,
      depth < 1 && resolved.properties ? schemaView(resolved, depth + 1) : null));
  }
  for (const key of ['oneOf', 'anyOf']) {
    if (Array.isArray(schema[key]) && schema.properties) {
      view.append(el('div.pdesc', { text: key === 'oneOf' ? 'Exactly one of:' : 'Any of:' }),
        el('ul', {}, schema[key].map((option) => el('li', {}, option.required ? 'with ' + option.required.join(', ') : typeOf(option)))));
    }
  }
  return view;
}

function operationView(path, method, operation, shared) {
  const id = anchor(method, path);
  const parameters = [...(shared || []), ...(operation.parameters || [])].map(deref);
  const scopes = (operation.security || []).flatMap((entry) => Object.values(entry).flat());
  const section = el('section.operation', { id },
    el('h3', {}, el('span.method.' + method, { text: method.toUpperCase() }), path),
    operation.summary ? el('p.summary', { text: operation.summary }) : null,
    markdown(operation.description),
    el('p.note', { text: operation.security && !operation.security.length ? 'Open: no token needed.' : scopes.length ? 'Bearer token scope: ' + scopes.join(', ') + ' (when authentication is on).' : '' }));
  if (parameters.length) {
    section.append(el('h4', { text: 'Parameters' }), el('table', {},
      el('thead', {}, el('tr', {}, ['Name', 'In', 'Type', 'Description'].map((title) => el('th', { text: title })))),
      el('tbody', {}, parameters.map((parameter) => el('tr', {},
        el('td', {}, el('code', { text: parameter.name }), parameter.required ? el('span.req', { text: ' required' }) : null),
        el('td', { text: parameter.in }),
        el('td', {}, typeOf(parameter.schema)),
        el('td', {}, inline((parameter.description || '').replace(/\n/g, ' '))))))));
  }
  if (operation.requestBody) {
    const body = deref(operation.requestBody);
    section.append(el('h4', { text: 'Request body' + (body.required ? '' : ' (optional)') }), markdown(body.description));
    for (const [type, media] of Object.entries(body.content || {})) {
      section.append(el('div', {}, el('code', { text: type })), schemaView(media.schema));
    }
  }
  section.append(el('h4', { text: 'Responses' }));
  const rows = Object.entries(operation.responses || {}).map(([status, response]) => {
    const resolved = deref(response);
    const types = Object.entries(resolved.content || {});
    return el('tr', {},
      el('td', {}, el('span.status-code.s' + status[0], { text: status })),
      el('td', {}, markdown(resolved.description),
        types.map(([type, media]) => el('div', {}, el('code', { text: type }), ' ', media.schema ? el('span.ptype', {}, typeOf(media.schema)) : null))));
  });
  section.append(el('table', {}, el('tbody', {}, rows)));
  return section;
}

function render() {
  const info = spec.info || {};
  const content = $('#docs-content');
  const nav = $('#docs-nav');
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']) {
      if (item[method]) operations.push({ path, method, operation: item[method], shared: item.parameters });
    }
  }
  const tags = (spec.tags || []).map((tag) => tag.name);
  for (const entry of operations) for (const tag of entry.operation.tags || ['other']) if (!tags.includes(tag)) tags.push(tag);

  const sections = [el('section', { id: 'overview' },
    el('h1', { text: `${info.title || 'API'} ${info.version || ''}` }),
    info.summary ? el('p.summary', { text: info.summary }) : null,
    markdown(info.description),
    el('p.note', {}, 'Rendered from ', el('a', { href: 'openapi.yaml', text: 'openapi.yaml' }), ` (OpenAPI ${spec.openapi}); ${operations.length} operations.`))];
  const links = [el('a', { href: '#overview', text: 'Overview' })];
  for (const tag of tags) {
    const entries = operations.filter((entry) => (entry.operation.tags || ['other']).includes(tag));
    if (!entries.length) continue;
    const description = (spec.tags || []).find((candidate) => candidate.name === tag);
    sections.push(el('section', { id: 'tag-' + anchor(tag) }, el('h2', { text: tag }), description ? markdown(description.description) : null,
      entries.map((entry) => operationView(entry.path, entry.method, entry.operation, entry.shared))));
    links.push(el('h3', { text: tag }), entries.map((entry) => el('a', { href: '#' + anchor(entry.method, entry.path), 'data-search': (entry.method + ' ' + entry.path + ' ' + (entry.operation.summary || '')).toLowerCase() },
      el('span.method.' + entry.method, { text: entry.method.toUpperCase() }), el('code', { text: entry.path }))));
  }
  const schemas = (spec.components && spec.components.schemas) || {};
  sections.push(el('section', { id: 'schemas' }, el('h2', { text: 'Schemas' }),
    Object.entries(schemas).map(([name, schema]) => el('section.operation', { id: 'schema-' + anchor(name) }, el('h3', { text: name }), schemaView(schema)))));
  links.push(el('h3', { text: 'Schemas' }), Object.keys(schemas).map((name) => el('a', { href: '#schema-' + anchor(name), 'data-search': name.toLowerCase() }, el('code', { text: name }))));
  content.replaceChildren(...sections);
  nav.append(...links.flat());
  if (location.hash) { const target = document.getElementById(location.hash.slice(1)); if (target) target.scrollIntoView(); }
}

async function start() {
  $('#docs-filter').addEventListener('input', (event) => {
    const query = event.target.value.trim().toLowerCase();
    for (const link of document.querySelectorAll('#docs-nav a[data-search]')) link.hidden = Boolean(query) && !link.dataset.search.includes(query);
  });
  try {
    const response = await fetch('openapi.yaml', { cache: 'no-cache', credentials: 'omit' });
    if (!response.ok) throw new Error(`openapi.yaml: HTTP ${response.status}`);
    spec = parseYAML(await response.text());
    render();
  } catch (error) {
    $('#docs-content').replaceChildren(el('p.note.warn', { text: 'Cannot render openapi.yaml: ' + error.message }));
    window.inspectorErrors.push(String(error.message));
  }
  document.body.dataset.state = 'idle';
  document.body.dataset.ready = 'true';
}

start();
