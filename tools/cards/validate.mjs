// Validates every golden card (internal/cards/testdata/golden/*.json) with the official Adaptive
// Cards parser, adaptivecards@3.0.6, and exits non-zero on any error or warning:
//   - the card's version is not "1.5" (Teams' schema) or its envelope is wrong;
//   - a parse event (unknown element or action type, invalid value, …) from SerializationContext;
//   - a validation event from validateProperties() (duplicate ids, required inputs without label
//     or error message, too many actions, …);
//   - a property the parser does not know: the parser silently drops those, so each card is
//     serialised back (targeting 1.5) and every input property missing from the result is reported.
//     Teams' "msteams" host extension at the card root and "fallback" (which the library parses but
//     does not serialise) are exempt; each fallback is validated as a card of its own instead.
// The package's "lib" build is ESM with extension-less imports Node cannot load, so the UMD bundle
// in dist/ is used; parsing needs no DOM.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const AC = require('adaptivecards/dist/adaptivecards.js');
const acVersion = require('adaptivecards/package.json').version;

const here = path.dirname(fileURLToPath(import.meta.url));
const goldenDir = path.resolve(here, process.argv[2] ?? '../../internal/cards/testdata/golden');
const eventNames = Object.fromEntries(Object.entries(AC.ValidationEvent).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));

// missing reports every path present in input but absent (or different) in output.
function missing(input, output, at, problems) {
  if (Array.isArray(input)) {
    if (!Array.isArray(output) || output.length !== input.length) {
      problems.push(`${at}: array of ${input.length} became ${JSON.stringify(output)?.slice(0, 80)}`);
      return;
    }
    input.forEach((v, i) => missing(v, output[i], `${at}[${i}]`, problems));
    return;
  }
  if (input !== null && typeof input === 'object') {
    if (output === null || typeof output !== 'object') {
      problems.push(`${at}: object not recognised`);
      return;
    }
    for (const [k, v] of Object.entries(input)) {
      if (k === 'fallback' || (at === '' && k === 'msteams')) continue;
      if (!(k in output)) {
        problems.push(`${at}/${k}: unknown or unsupported property (dropped by the parser)`);
        continue;
      }
      missing(v, output[k], `${at}/${k}`, problems);
    }
    return;
  }
  if (input !== output) problems.push(`${at}: value ${JSON.stringify(input)} read as ${JSON.stringify(output)}`);
}

function fallbacks(node, at, out) {
  if (Array.isArray(node)) { node.forEach((v, i) => fallbacks(v, `${at}[${i}]`, out)); return; }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'fallback' && v && typeof v === 'object') out.push({ at: `${at}/fallback`, value: v });
    fallbacks(v, `${at}/${k}`, out);
  }
}

function check(card, problems, prefix = '') {
  const ctx = new AC.SerializationContext(AC.Versions.v1_5);
  const ac = new AC.AdaptiveCard();
  ac.parse(card, ctx);
  for (let i = 0; i < ctx.eventCount; i++) {
    const e = ctx.getEventAt(i);
    problems.push(`${prefix}parse ${eventNames[e.event] ?? e.event}: ${e.message}`);
  }
  for (const e of ac.validateProperties().validationEvents) {
    problems.push(`${prefix}validate ${eventNames[e.event] ?? e.event}: ${e.message}`);
  }
  const round = ac.toJSON(new AC.SerializationContext(AC.Versions.v1_5));
  const diffs = [];
  missing(card, round, '', diffs);
  problems.push(...diffs.map((d) => prefix + d));
}

const files = fs.readdirSync(goldenDir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no golden cards in ${goldenDir}`);
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  const problems = [];
  let card;
  try {
    card = JSON.parse(fs.readFileSync(path.join(goldenDir, f), 'utf8'));
  } catch (err) {
    problems.push(`not JSON: ${err.message}`);
  }
  if (card) {
    if (card.type !== 'AdaptiveCard') problems.push(`type is ${JSON.stringify(card.type)}`);
    if (card.version !== '1.5') problems.push(`version is ${JSON.stringify(card.version)}, want "1.5"`);
    if (card.msteams?.width !== 'Full') problems.push('msteams.width is not "Full"');
    check(card, problems);
    const fbs = [];
    fallbacks(card, '', fbs);
    for (const fb of fbs) {
      const wrapper = { type: 'AdaptiveCard', version: '1.5' };
      if (String(fb.value.type).startsWith('Action.')) wrapper.actions = [fb.value];
      else wrapper.body = [fb.value];
      check(wrapper, problems, `${fb.at}: `);
    }
  }
  if (problems.length > 0) {
    failed++;
    console.log(`FAIL ${f}`);
    for (const p of problems) console.log(`  ${p}`);
  }
}
console.log(`adaptivecards ${acVersion}: ${files.length - failed}/${files.length} cards valid (schema 1.5, no parse or validation warnings, no unknown properties)`);
process.exit(failed > 0 ? 1 : 0);
