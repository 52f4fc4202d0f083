import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkImports, checkTree, importsOf, LAYER_RULES, type ImportRef } from '../support/architecture.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Checks a made-up tree given as { path: source }. */
function check(files: Record<string, string>): string[] {
  const refs: ImportRef[] = Object.entries(files).flatMap(([file, text]) => importsOf(file, text));
  return checkImports(refs, LAYER_RULES, (p) => p in files).map((v) => `${v.message} [${v.rule}]`);
}

describe('layer rules (docs/architecture-rules.md)', () => {
  it('hold for every import in the source tree', () => {
    const violations = checkTree(ROOT);
    assert.deepEqual(
      violations.map((v) => `${v.message}\n    breaks: ${v.rule}`),
      [],
      'a file imports what its layer must not (file:line, the import, and the rule it breaks)',
    );
  });

  it('read every import form, and not import-like text in comments or strings', () => {
    const refs = importsOf(
      'lib/x/a.ts',
      [
        "import { a } from './a1.ts';",
        "import type { B } from '../b/b.ts';",
        "import './side-effect.ts';",
        "export { c } from '../c/c.ts';",
        "export * from '../d/d.ts';",
        "const e = await import('../e/e.ts');",
        "type F = import('../f/f.ts').F;",
        "import g = require('../g/g.ts');",
        "const h = import(process.env.H as string);",
        "// import { no } from '../../infra/comment.ts';",
        "const s = \"import { no } from '../../infra/string.ts'\";",
        "import { readFile } from 'node:fs/promises';",
      ].join('\n'),
    );
    assert.deepEqual(
      refs.map((r) => [r.line, r.specifier, r.target]),
      [
        [1, './a1.ts', 'lib/x/a1.ts'],
        [2, '../b/b.ts', 'lib/b/b.ts'],
        [3, './side-effect.ts', 'lib/x/side-effect.ts'],
        [4, '../c/c.ts', 'lib/c/c.ts'],
        [5, '../d/d.ts', 'lib/d/d.ts'],
        [6, '../e/e.ts', 'lib/e/e.ts'],
        [7, '../f/f.ts', 'lib/f/f.ts'],
        [8, '../g/g.ts', 'lib/g/g.ts'],
        [9, undefined, undefined],
        [12, 'node:fs/promises', undefined],
      ],
    );
  });

  it('fail on a forbidden import, naming the file, the line, the import and the rule', () => {
    const violations = check({
      'lib/output/append-lock.ts': "import { x } from '../errors.ts';\nimport { processIsRunning } from '../../infra/process-stats.ts';",
      'lib/errors.ts': '',
      'infra/process-stats.ts': '',
    });
    assert.deepEqual(violations, [
      "lib/output/append-lock.ts:2 imports '../../infra/process-stats.ts' [nothing below the CLI imports infra/: only lib/cli/ (the composition root) may]",
    ]);
  });

  it('fail on each kind of break: forbidden folder or file, outside an allow-list, a package, a dynamic or re-export', () => {
    const violations = check({
      'lib/quotes/record.ts': "import { isAggregated } from '../records/kpl-format.ts';\nimport { KinesisClient } from '@aws-sdk/client-kinesis';",
      'lib/records/kpl-format.ts': "export { systemClock } from '../time/clock.ts';",
      'lib/time/clock.ts': "const m = await import('../logging/logger.ts');",
      'lib/logging/logger.ts': '',
      'lib/consumer/lease.ts': "import type { Clock } from '../replay/clock.ts';",
      'lib/replay/clock.ts': "import type { KinesisProducer } from '../aws/producer.ts';",
      'lib/aws/producer.ts': "import { x } from '../consumer/lease.ts';",
      'infra/bootstrap.ts': "import { main } from '../lib/cli/main.ts';",
      'lib/cli/main.ts': "import { y } from '../../test/support/y.ts';",
      'test/support/y.ts': '',
    });
    const rulesBroken = new Set(violations.map((v) => v.slice(v.indexOf('[') + 1, -1)));
    for (const [file, rule] of [
      ['lib/quotes/record.ts:1', 'the quote core'],
      ['lib/quotes/record.ts:2', 'the quote core'],
      ['lib/records/kpl-format.ts:1', 'the Kinesis record contract'],
      ['lib/time/clock.ts:1', 'lib/time/'],
      ['lib/consumer/lease.ts:1', 'the consumer side'],
      ['lib/replay/clock.ts:1', 'the producer side'],
      ['lib/aws/producer.ts:1', 'the AWS adapter'],
      ['infra/bootstrap.ts:1', 'the composition roots'],
      ['lib/cli/main.ts:1', 'production code'],
    ] as const) {
      assert.ok(
        violations.some((v) => v.startsWith(`${file} imports`) && v.includes(`[${rule}`)),
        `expected ${file} to break "${rule}…"; got:\n${violations.join('\n')}`,
      );
    }
    assert.equal(rulesBroken.size, 8);
  });

  it('follow a Lambda handler through lib/ and report the chain that reaches infra/', () => {
    const violations = check({
      'functions/mid-price.ts': "import { process } from '../lib/midprice/process-batch.ts';",
      'lib/midprice/process-batch.ts': "import { open } from '../output/log-files.ts';",
      'lib/output/log-files.ts': "import { lock } from './append-lock.ts';",
      'lib/output/append-lock.ts': "import { alive } from '../../infra/process-stats.ts';",
      'infra/process-stats.ts': '',
    });
    assert.ok(
      violations.includes(
        "functions/mid-price.ts → lib/midprice/process-batch.ts → lib/output/log-files.ts → lib/output/append-lock.ts → infra/process-stats.ts (lib/output/append-lock.ts:1 imports '../../infra/process-stats.ts') [the Lambda handlers (functions/) pull nothing of infra/, lib/cli/ or lib/demo/ into their bundle, directly or not]",
      ),
      violations.join('\n'),
    );
  });

  it('fail on an import that resolves to no file or whose module is computed', () => {
    assert.deepEqual(check({ 'lib/a/a.ts': "import { b } from './missing.ts';\nconst c = await import(name);" }), [
      "lib/a/a.ts:1 imports './missing.ts', which resolves to no file (lib/a/missing.ts) [imports must resolve]",
      'lib/a/a.ts:2 has an import() whose module is computed; the layer rules cannot check it [imports must be checkable]',
    ]);
  });
});
