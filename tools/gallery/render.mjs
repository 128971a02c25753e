// Renders every golden Adaptive Card (internal/cards/testdata/golden/*.json) with the official
// adaptivecards renderer in headless Chromium, in a Teams-like light theme (theme.mjs), and writes
// one PNG per card plus the gallery page README.md (catalog.mjs) into --out.
//
// It exits non-zero when any card produces a parse or validation event under the Teams host
// config, a renderer failure, a page error, a console error or warning (the renderer warns there,
// e.g. when markdown is not processed), or a network request (cards must render offline), and
// when catalog.mjs and the golden files disagree.
//
// With --expect DIR it also checks that DIR (the committed docs/cards) is up to date: its
// README.md must equal the generated one, which records a hash of each card's rendering inputs
// (golden file, theme, renderer and lockfile), and it must hold exactly one PNG per card. Pixels
// are not compared, since they depend on the Chromium build and installed fonts.
//
// Usage: node render.mjs --out DIR [--expect DIR] [--golden DIR]
import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { groups } from './catalog.mjs';
import { cardWidth, css, hostConfig } from './theme.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    expect: { type: 'string' },
    golden: { type: 'string', default: path.join(here, '../../internal/cards/testdata/golden') },
  },
});
if (!opts.out) {
  console.error('usage: node render.mjs --out DIR [--expect DIR] [--golden DIR]');
  process.exit(2);
}

// Generous limits that keep the committed gallery small; a card over them is probably broken.
const maxPNGBytes = 300 * 1024;
const maxTotalBytes = 5 * 1024 * 1024;
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const started = Date.now();
const outDir = path.resolve(opts.out);
const goldenDir = path.resolve(opts.golden);
// The page lives in docs/cards whatever --out is, so its links are relative to that.
const goldenRel = '../../internal/cards/testdata/golden';
const problems = [];

const entries = groups.flatMap((g) => g.cards);
const golden = new Map(
  fs.readdirSync(goldenDir).filter((f) => f.endsWith('.json')).sort().map((f) => [f.slice(0, -'.json'.length), fs.readFileSync(path.join(goldenDir, f))]),
);
const catalogued = new Set();
for (const e of entries) {
  if (catalogued.has(e.name)) problems.push(`catalog.mjs: ${e.name} is listed twice`);
  catalogued.add(e.name);
  if (!golden.has(e.name)) problems.push(`catalog.mjs: ${e.name} has no golden file ${e.name}.json`);
}
for (const name of golden.keys()) {
  if (!catalogued.has(name)) problems.push(`${name}.json: not in catalog.mjs (add a title and description to the gallery)`);
}
if (golden.size === 0) problems.push(`no golden cards in ${goldenDir}`);
if (problems.length > 0) fail();

// Everything that changes a picture other than the card itself: a change here means docs/cards
// must be regenerated, which --expect enforces through the hashes in README.md.
const rendererInputs = createHash('sha256');
for (const f of ['render.mjs', 'theme.mjs', 'package-lock.json']) rendererInputs.update(fs.readFileSync(path.join(here, f)));
const rendererDigest = rendererInputs.digest();
const inputHash = (name) => createHash('sha256').update(rendererDigest).update(golden.get(name)).digest('hex').slice(0, 16);

const lib = (p) => fs.readFileSync(path.join(here, 'node_modules', p), 'utf8');
const acVersion = JSON.parse(lib('adaptivecards/package.json')).version;

fs.mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  // Playwright gives each launch a fresh, temporary profile. Without the networking flags Chromium
  // tries to reach Google's services, which this sandbox's closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let total = 0;
try {
  const page = await browser.newPage({ viewport: { width: cardWidth + 64, height: 1200 }, deviceScaleFactor: 1 });
  let current = '(setup)';
  const cardProblems = new Map();
  const report = (msg) => {
    if (!cardProblems.has(current)) cardProblems.set(current, []);
    cardProblems.get(current).push(msg);
  };
  page.on('pageerror', (err) => report(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') report(`console ${msg.type()}: ${msg.text()}`);
  });
  await page.route('**/*', (route) => {
    report(`network request: ${route.request().url()}`);
    return route.abort();
  });

  await page.setContent(`<!doctype html><html lang="en"><head><meta charset="utf-8"><style>${css}</style></head>`
    + '<body><div id="frame"><div id="card"></div></div></body></html>');
  await page.addScriptTag({ content: lib('markdown-it/dist/browser/markdown-it.umd.min.js') });
  await page.addScriptTag({ content: lib('adaptivecards/dist/adaptivecards.min.js') });
  await page.evaluate((hc) => {
    // Teams renders a small markdown subset in TextBlocks and facts: emphasis, links, lists and
    // backslash escapes (which the cards package relies on); raw HTML never.
    const md = window.markdownit('zero', { html: false, linkify: false, breaks: true })
      .enable(['emphasis', 'link', 'list', 'escape', 'newline']);
    window.AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
      result.outputHtml = md.render(text);
      result.didProcess = true;
    };
    const hostConfig = new window.AdaptiveCards.HostConfig(hc);
    const names = Object.fromEntries(Object.entries(window.AdaptiveCards.ValidationEvent).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));
    window.renderCard = (json) => {
      const found = [];
      const ctx = new window.AdaptiveCards.SerializationContext(window.AdaptiveCards.Versions.v1_5);
      const card = new window.AdaptiveCards.AdaptiveCard();
      card.hostConfig = hostConfig;
      card.parse(json, ctx);
      for (let i = 0; i < ctx.eventCount; i++) {
        const e = ctx.getEventAt(i);
        found.push(`parse ${names[e.event] ?? e.event}: ${e.message}`);
      }
      for (const e of card.validateProperties().validationEvents) found.push(`validate ${names[e.event] ?? e.event}: ${e.message}`);
      const host = document.getElementById('card');
      host.replaceChildren();
      const el = card.render();
      if (!el) found.push('render: the renderer produced no element');
      else host.appendChild(el);
      if (host.getBoundingClientRect().height < 40) found.push('render: the card is (nearly) empty');
      return found;
    };
  }, hostConfig);

  const frame = page.locator('#frame');
  for (const { name } of cardProblems.size > 0 ? [] : entries) {
    current = name;
    let found;
    try {
      found = await page.evaluate((json) => window.renderCard(json), JSON.parse(golden.get(name).toString('utf8')));
    } catch (err) {
      found = [`render threw: ${err.message}`];
    }
    for (const f of found) report(f);
    const file = path.join(outDir, `${name}.png`);
    // A clipped page screenshot: much faster than an element screenshot, which waits for the
    // element to be stable and scrolls it into view; fullPage allows cards taller than the viewport.
    const box = await frame.boundingBox();
    await page.screenshot({
      path: file, fullPage: true, animations: 'disabled', caret: 'hide',
      clip: { x: Math.floor(box.x), y: Math.floor(box.y), width: Math.ceil(box.width), height: Math.ceil(box.height) },
    });
    const size = fs.statSync(file).size;
    total += size;
    if (size > maxPNGBytes) report(`${name}.png is ${size} bytes, over the ${maxPNGBytes}-byte budget`);
  }
  for (const [name, msgs] of cardProblems) problems.push(...msgs.map((m) => `${name}: ${m}`));
} finally {
  await browser.close();
}
if (total > maxTotalBytes) problems.push(`the gallery is ${total} bytes, over the ${maxTotalBytes}-byte budget`);

for (const f of fs.readdirSync(outDir)) {
  if (f.endsWith('.png') && !golden.has(f.slice(0, -'.png'.length))) fs.rmSync(path.join(outDir, f));
}
const readme = galleryPage();
fs.writeFileSync(path.join(outDir, 'README.md'), readme);

if (opts.expect) {
  const dir = path.resolve(opts.expect);
  const label = path.relative(path.join(here, '../..'), dir) || dir;
  const stale = [];
  const committed = fs.existsSync(path.join(dir, 'README.md')) ? fs.readFileSync(path.join(dir, 'README.md'), 'utf8') : null;
  if (committed !== readme) stale.push('README.md differs from the generated page (a card, the catalog or the renderer changed)');
  const pngs = new Set(fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.png')) : []);
  for (const name of golden.keys()) if (!pngs.has(`${name}.png`)) stale.push(`${name}.png is missing`);
  for (const f of pngs) if (!golden.has(f.slice(0, -'.png'.length))) stale.push(`${f} has no golden card`);
  if (!fs.existsSync(dir)) stale.splice(0, stale.length, 'does not exist');
  for (const s of stale) problems.push(`${label}: ${s}`);
  if (stale.length > 0) problems.push(`${label} is out of date: run bash tools/gallery/check.sh --write and commit the result`);
}
if (problems.length > 0) fail();
console.log(`adaptivecards ${acVersion}: rendered ${golden.size} cards to ${outDir} (${(total / 1024).toFixed(0)} KiB of PNG) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

function fail() {
  for (const p of problems) console.error(`FAIL ${p}`);
  console.error(`card gallery: ${problems.length} problem(s)`);
  process.exit(1);
}

function anchor(title) {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

function galleryPage() {
  const lines = [
    '# Card gallery',
    '',
    '<!-- Generated by tools/gallery/render.mjs from internal/cards/testdata/golden and tools/gallery/catalog.mjs; do not edit. -->',
    '',
    `Every Adaptive Card guestpass sends, rendered from the golden files in [\`internal/cards/testdata/golden\`](${goldenRel}) `
      + `with the official \`adaptivecards\` ${acVersion} renderer in headless Chromium, using a Teams-like light theme `
      + `at ${cardWidth} px. Teams draws cards with its own renderer and fonts, so details differ slightly; `
      + 'the content, layout, inputs and buttons are the ones users see.',
    '',
    'Regenerate with `bash tools/gallery/check.sh --write`. CI runs `bash tools/gallery/check.sh`, which renders every card, '
      + 'fails on any renderer, parse or validation warning, and fails when this page or its images are out of date.',
    '',
    ...groups.map((g) => `- [${g.title}](#${anchor(g.title)}) (${g.cards.length})`),
    '',
  ];
  for (const g of groups) {
    lines.push(`## ${g.title}`, '', g.intro, '');
    for (const c of g.cards) {
      lines.push(
        `### ${c.title}`,
        '',
        `${c.description} ([\`${c.name}.json\`](${goldenRel}/${c.name}.json))`,
        '',
        `![${c.title}](${c.name}.png)`,
        `<!-- ${c.name} inputs sha256:${inputHash(c.name)} -->`,
        '',
      );
    }
  }
  return lines.join('\n');
}
