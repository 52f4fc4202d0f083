/**
 * The documentation holds together: the README stays a short front door that links every page
 * under docs/, and no relative link or anchor in the README, docs/ or CONTRIBUTING.md is broken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { anchorsOf, extractLinks, findBrokenLinks, slugify } from '../../support/markdown-links.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = path.join(ROOT, 'README.md');
const README_MAX_BYTES = 15_000;

function docsPages(): string[] {
  const dir = path.join(ROOT, 'docs');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => path.join(dir, name));
}

describe('documentation', () => {
  it(`keeps README.md at most ${README_MAX_BYTES} bytes`, () => {
    const size = statSync(README).size;
    assert.ok(size <= README_MAX_BYTES, `README.md is ${size} bytes; move detail into docs/`);
  });

  it('links every docs/*.md page from the README', () => {
    const pages = docsPages();
    assert.ok(pages.length > 0, 'docs/ has no Markdown page');
    const linked = new Set(
      extractLinks(readFileSync(README, 'utf8')).map(({ target }) => path.resolve(ROOT, target.split('#')[0] ?? '')),
    );
    const missing = pages.filter((page) => !linked.has(page)).map((page) => path.relative(ROOT, page));
    assert.deepEqual(missing, [], `README.md does not link: ${missing.join(', ')}`);
  });

  it('has no broken relative link or anchor in README.md, docs/*.md or CONTRIBUTING.md', () => {
    const pages = [README, path.join(ROOT, 'CONTRIBUTING.md'), ...docsPages()];
    const broken = pages.flatMap((page) => findBrokenLinks(page));
    assert.deepEqual(broken, []);
  });
});

describe('the link checker', () => {
  it('computes anchors as GitHub does, code spans and punctuation dropped, repeats numbered', () => {
    assert.equal(slugify('Producer: batching, retries, backpressure'), 'producer-batching-retries-backpressure');
    assert.equal(slugify('KPL aggregation (`--aggregate`)'), 'kpl-aggregation---aggregate');
    assert.equal(slugify('Deploying to LocalStack (stage `local`)'), 'deploying-to-localstack-stage-local');
    assert.equal(slugify('The AWS definition: serverless.yml'), 'the-aws-definition-serverlessyml');
    assert.deepEqual([...anchorsOf('# A\n## B\n```\n# not a heading\n```\n## B\n')], ['a', 'b', 'b-1']);
  });

  it('ignores links in code blocks and code spans', () => {
    const links = extractLinks('[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n![d](e.png "title")\n');
    assert.deepEqual(links, [
      { target: 'x.md', line: 1 },
      { target: 'e.png', line: 5 },
    ]);
  });

  it('reports a missing file and a missing heading, and accepts the ones that exist', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tick-replay-docs-'));
    try {
      writeFileSync(path.join(dir, 'other.md'), '# Other page\n## Some section\n');
      const page = path.join(dir, 'page.md');
      writeFileSync(
        page,
        [
          '# Page',
          '[ok](other.md#some-section) [ok](#page) [external](https://example.com/x#y)',
          '[gone](missing.md)',
          '[no heading](other.md#nope) [no local heading](#nope)',
        ].join('\n'),
      );
      assert.deepEqual(findBrokenLinks(page), [
        'page.md:3 missing.md (no such file)',
        'page.md:4 other.md#nope (no such heading)',
        'page.md:4 #nope (no such heading)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
