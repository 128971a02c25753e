// End-to-end journey through the Microsoft 365 Agents Playground (a real Teams client emulator)
// against guestpass running in local mode. It drives the Playground only through the Playground's
// own HTTP API and reads only what the Playground received from the bot, over its WebSocket
// stream (../../../shared/reference/agents-playground.md §7–8): what a person in the chat would see.
//
// Run by scripts/e2e-playground.sh, which builds and starts both processes:
//   node --experimental-websocket tools/playground/e2e.mjs
// Environment:
//   PLAYGROUND_URL  the Playground (default http://localhost:56150)
//   GUESTPASS_BOT   the bot binary, for the guest's side (`bot guest`)
//   GUESTPASS_DIR   the bot's working directory (its data/ holds the store and sandbox state)
//
// The journey: install → welcome card; a sponsor defines a scenario through the wizard cards →
// "is ready" with the My Access link; invites a guest with a link card; the guest requests access
// in the sandbox tenant; the approval card reaches the approver (the sponsor approves their own
// scenario's requests); Approve → the card is replaced with the decision and the sponsor is told.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';

const PG = process.env.PLAYGROUND_URL ?? 'http://localhost:56150';
const BOT = process.env.GUESTPASS_BOT;
const DIR = process.env.GUESTPASS_DIR;
const STEP_TIMEOUT = 30_000;
const BOT_ID = '00000000-0000-0000-0000-00000000000011';
const CARD = 'application/vnd.microsoft.card.adaptive';

assert.ok(BOT && DIR, 'GUESTPASS_BOT and GUESTPASS_DIR must be set (scripts/e2e-playground.sh sets them)');

// ---- what the Playground received from the bot --------------------------------------------

/** @type {{action: string, actionConversationId: string, message: any, seq: number}[]} */
const frames = [];
let seq = 0;
const waiters = new Set();
const ws = new WebSocket(PG.replace(/^http/, 'ws') + '/_ws_conversation/v1/conversations/stream');
ws.onmessage = (e) => {
  let f;
  try { f = JSON.parse(String(e.data)); } catch { return; }
  f.seq = ++seq;
  frames.push(f);
  for (const w of waiters) w();
};
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('WebSocket to the Playground failed')); });

/** Waits for a frame after `after` (a sequence number) that satisfies pred. */
function waitFrame(what, pred, after = 0, timeout = STEP_TIMEOUT) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const f = frames.find((x) => x.seq > after && pred(x));
      if (f) { waiters.delete(check); clearTimeout(timer); resolve(f); }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out waiting for ${what}; the Playground received:\n` + frames.map(describe).join('\n')));
    }, timeout);
    waiters.add(check);
    check();
  });
}

function describe(f) {
  const card = cardOf(f.message);
  return `  #${f.seq} ${f.action} ${f.message?.messageId ?? ''} ${card ? 'card: ' + texts(card).slice(0, 3).join(' | ') : JSON.stringify(f.message?.text ?? '')}`;
}

function cardOf(message) {
  const a = (message?.attachments ?? []).find((x) => x.contentType === CARD);
  return a?.content;
}

/** Every TextBlock / FactSet / RichText text of a card, in order. */
function texts(node, out = []) {
  if (Array.isArray(node)) { node.forEach((n) => texts(n, out)); return out; }
  if (!node || typeof node !== 'object') return out;
  if (node.type === 'TextBlock' && node.text) out.push(node.text);
  if (node.type === 'TextRun' && node.text) out.push(node.text);
  if (node.type === 'FactSet') for (const f of node.facts ?? []) out.push(`${f.title}: ${f.value}`);
  for (const [k, v] of Object.entries(node)) if (k !== 'fallback' && typeof v === 'object') texts(v, out);
  return out;
}

const cardText = (card) => texts(card).join('\n');

// ---- what the user does -----------------------------------------------------------------

const config = await json(await fetch(`${PG}/_internal/v1/config`));
const CONV = config.personalChat?.id ?? config.config?.personalChat?.id;
const USER = config.currentUser?.id ?? config.config?.currentUser?.id ?? 'user-id-0';
assert.ok(CONV, 'the Playground config has no personal chat id: ' + JSON.stringify(config).slice(0, 300));

async function json(resp) {
  const body = await resp.text();
  if (!resp.ok) throw new Error(`${resp.url}: ${resp.status} ${body}`);
  return body ? JSON.parse(body) : undefined;
}

/** The user types text; resolves with the next card the bot posts. */
async function say(text) {
  const after = seq;
  await json(await fetch(`${PG}/_conversation/v1/conversations/${CONV}/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: { id: USER }, text, textFormat: 'plain' }),
  }));
  return waitFrame(`a card answering "${text}"`, (f) => f.action === 'createMessage' && fromBot(f) && cardOf(f.message), after);
}

const fromBot = (f) => f.message?.from?.id === BOT_ID;

/** Every action of a card (top level, in ActionSets, selectActions), with its element path. */
function actions(node, out = []) {
  if (Array.isArray(node)) { node.forEach((n) => actions(n, out)); return out; }
  if (!node || typeof node !== 'object') return out;
  if (typeof node.type === 'string' && node.type.startsWith('Action.') && node.title) out.push(node);
  for (const [k, v] of Object.entries(node)) if (k !== 'fallback' && typeof v === 'object') actions(v, out);
  return out;
}

/** The current values of a card's inputs, as a client submits them with an action. */
function inputs(node, out = {}) {
  if (Array.isArray(node)) { node.forEach((n) => inputs(n, out)); return out; }
  if (!node || typeof node !== 'object') return out;
  if (typeof node.type === 'string' && node.type.startsWith('Input.') && node.id) {
    out[node.id] = node.value ?? (node.type === 'Input.Toggle' ? (node.valueOff ?? 'false') : '');
  }
  for (const [k, v] of Object.entries(node)) if (k !== 'fallback' && k !== 'actions' && typeof v === 'object') inputs(v, out);
  return out;
}

/**
 * Clicks the button titled `title` on the card in message `messageId`, after "typing" `typed`
 * into its inputs, the way a Teams client does: Action.Execute sends an adaptiveCard/action
 * invoke whose data is the action's data merged with the card's input values. Resolves with the
 * card the bot answered with (the invoke response replaces the card in place).
 */
async function click(messageId, card, title, typed = {}) {
  const action = actions(card).find((a) => a.title === title);
  assert.ok(action, `no "${title}" button on the card:\n${cardText(card)}\nbuttons: ${actions(card).map((a) => a.title).join(', ')}`);
  assert.equal(action.type, 'Action.Execute', `"${title}" is ${action.type}`);
  for (const id of Object.keys(typed)) assert.ok(id in inputs(card), `the card has no input "${id}" to type into`);
  const values = action.associatedInputs === 'none' ? {} : { ...inputs(card), ...typed };
  const res = await json(await fetch(`${PG}/_conversation/v1/invoke`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', title, verb: action.verb, data: { ...action.data, ...values } }, trigger: 'manual' },
      from: { id: USER }, conversation: { id: CONV }, replyToId: messageId,
    }),
  }));
  // The Playground returns the bot's invoke response body; it may drop statusCode (200 then).
  assert.ok(res && (res.statusCode ?? 200) === 200, `"${title}" answered ${JSON.stringify(res).slice(0, 500)}`);
  assert.equal(res.type, CARD, `"${title}" answered ${res.type}: ${JSON.stringify(res.value).slice(0, 500)}`);
  return res.value;
}

function expectText(card, re, what) {
  const text = cardText(card);
  assert.match(text, re, `${what}: the card says\n${text}`);
}

/** `choices` entry of the input id whose title matches re. */
function choice(card, id, re) {
  let found;
  (function walk(n) {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    if (n.id === id && Array.isArray(n.choices)) found = n.choices.find((c) => re.test(c.title));
    for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
  })(card);
  assert.ok(found, `no choice matching ${re} in input ${id}:\n${JSON.stringify(card).slice(0, 1500)}`);
  return found.value;
}

const step = (s) => console.log(`e2e: ${s}`);
const started = Date.now();

// ---- the journey --------------------------------------------------------------------------

step('install the app');
let after = seq;
await json(await fetch(`${PG}/_debug/conversation/${CONV}/installation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
const welcome = await waitFrame('the welcome card', (f) => f.action === 'createMessage' && fromBot(f) && /Welcome to guestpass/.test(cardText(cardOf(f.message) ?? {})), after);
expectText(cardOf(welcome.message), /scenario new/, 'the welcome lists the sponsor commands');

step('define a scenario through the wizard');
const scenario = `Falcon partners ${Date.now() % 100000}`;
const picker = await say('new scenario');
let id = picker.message.messageId;
let card = cardOf(picker.message);
expectText(card, /Project partner/, 'the template picker');
card = await click(id, card, 'Start from scratch');
expectText(card, /[Nn]ame/, 'the name step');
card = await click(id, card, 'Next', { name: scenario, description: 'Partners on the Falcon project' });
card = await click(id, card, 'Next', { partnerDomains: 'contoso.com' });
card = await click(id, card, 'Search', { resourceQuery: 'Project X' });
card = await click(id, card, 'Add selected', { resourcePick: choice(card, 'resourcePick', /Project X.*Team/) });
expectText(card, /Project X/, 'the resource was added');
card = await click(id, card, 'Next');
expectText(card, /[Aa]pprov/, 'the approval step');
card = await click(id, card, 'Next');
expectText(card, /[Dd]uration|days/, 'the duration step');
card = await click(id, card, 'Next', { durationDays: '30' });
card = await click(id, card, 'Next');
expectText(card, new RegExp(scenario), 'the review names the scenario');
after = seq;
card = await click(id, card, 'Create');
const ready = await waitFrame('the scenario to be ready', (f) => f.action === 'updateMessage' && f.message.messageId === id && /is ready/.test(cardText(cardOf(f.message) ?? {})), after, 60_000);
const created = cardOf(ready.message);
const link = cardText(created).match(/https:\/\/myaccess\.microsoft\.com\/[^\s)\]]+/)?.[0] ?? JSON.stringify(created).match(/https:\/\/myaccess\.microsoft\.com\/[^"\s)]+/)?.[0];
assert.ok(link, `the ready card has no My Access link:\n${cardText(created)}`);

step('invite a guest with a link card');
card = await click(id, created, 'Invite guests');
expectText(card, /Invite guests/, 'the invitation form');
after = seq;
await click(id, card, 'Continue', { addresses: 'diegos@contoso.com', delivery: 'link' });
// The batch runs after the click: the card is updated with progress, then the results, and the
// link card for the guest is posted for the sponsor to forward.
const results = await waitFrame('the invitation results', (f) => f.action === 'updateMessage' && f.message.messageId === id &&
  /1 sent/.test(cardText(cardOf(f.message) ?? {})), after);
expectText(cardOf(results.message), /diegos@contoso\.com/, 'the results name the guest');
const linkCard = await waitFrame('the guest link card', (f) => f.action === 'createMessage' && fromBot(f) &&
  JSON.stringify(cardOf(f.message) ?? {}).includes(link), after);
expectText(cardOf(linkCard.message), /invited to request access/, 'the link card');

step('the guest requests access in the sandbox tenant');
const guest = spawnSync(BOT, ['guest', '--email', 'diegos@contoso.com', '--package', scenario, '--justification', 'Falcon design review'], { cwd: DIR, encoding: 'utf8' });
assert.equal(guest.status, 0, `bot guest failed: ${guest.stderr}${guest.stdout}`);
const requestId = guest.stdout.match(/^request (\S+) for access package/m)?.[1];
assert.ok(requestId, `bot guest printed no request id: ${guest.stdout}`);

step(`the approver gets the card for request ${requestId}`);
const approval = await waitFrame('the approval card', (f) => f.action === 'createMessage' && fromBot(f) && JSON.stringify(cardOf(f.message) ?? {}).includes(requestId), 0, 60_000);
card = cardOf(approval.message);
expectText(card, /diegos@contoso\.com|Diego/, 'the approval card names the guest');
expectText(card, /Falcon design review/, 'the approval card shows the justification');

step('approve from the card');
after = seq;
card = await click(approval.message.messageId, card, 'Approve');
expectText(card, /[Aa]pproved/, 'the clicked card shows the decision');
assert.ok(!actions(card).some((a) => a.title === 'Approve'), 'the decided card still has an Approve button');
// Every approver's copy is updated through the connector (PUT) as well, this one included.
await waitFrame('the approval card to be updated', (f) => f.action === 'updateMessage' && f.message.messageId === approval.message.messageId &&
  /Approved/.test(cardText(cardOf(f.message) ?? {})), after, 30_000);
const told = await waitFrame('the sponsor to be told', (f) => f.action === 'createMessage' && fromBot(f) && f.message.messageId !== approval.message.messageId &&
  /approved/i.test((f.message.text ?? '') + cardText(cardOf(f.message) ?? {})), after, 30_000);

console.log(`e2e: passed in ${((Date.now() - started) / 1000).toFixed(1)} s; the Playground received ${frames.length} frames; sponsor told: ${JSON.stringify(told.message.text ?? cardText(cardOf(told.message))).slice(0, 160)}`);
console.log(frames.map(describe).join('\n'));
ws.close();
process.exit(0);
