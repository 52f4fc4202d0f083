import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { isRetryableError } from '../../lib/aws/retryable.ts';
import { LeaseLostError } from '../../lib/consumer/lease-table.ts';
import { AwsCallError, ConfigError, OutputError, TickReplayError } from '../../lib/errors.ts';
import { KplFormatError } from '../../lib/records/kpl-format.ts';
import { listTypeScriptFiles } from '../support/architecture.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `class X extends Y` of every production file: X → { base Y, where }. */
function errorClasses(): Map<string, { base: string; where: string }> {
  const classes = new Map<string, { base: string; where: string }>();
  for (const file of listTypeScriptFiles(ROOT).filter((f) => /^(lib|functions|infra)\//.test(f))) {
    const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && node.name !== undefined) {
        const extendsClause = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword);
        const base = extendsClause?.types[0]?.expression.getText(source);
        if (base !== undefined) {
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          classes.set(node.name.text, { base, where: `${file}:${line}` });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return classes;
}

describe('project errors', () => {
  it('every error class of lib/, functions/ and infra/ extends TickReplayError', () => {
    const classes = errorClasses();
    const strays: string[] = [];
    let errorClassCount = 0;
    for (const [name, { where }] of classes) {
      const chain = [name];
      let current = name;
      while (classes.has(current) && current !== 'TickReplayError') {
        current = (classes.get(current) as { base: string }).base;
        chain.push(current);
      }
      // Classes that are not errors (their chain never reaches Error) are no concern here.
      if (current !== 'Error' && current !== 'TickReplayError') continue;
      if (name === 'TickReplayError') continue;
      errorClassCount++;
      if (current !== 'TickReplayError') strays.push(`${where} ${chain.join(' → ')}`);
    }
    assert.deepEqual(strays, []);
    // The scan found the classes it should (a broken scan would pass vacuously).
    assert.ok(errorClassCount >= 20, `only ${errorClassCount} error classes found`);
    assert.ok(classes.has('LeaseLostError') && classes.has('KplFormatError') && classes.has('StartError'));
  });

  it('keep their messages and names', () => {
    const lost = new LeaseLostError('shardId-000', 'worker-1');
    assert.equal(lost.message, 'lease on shardId-000 is no longer held by worker-1');
    assert.equal(lost.name, 'LeaseLostError');
    assert.deepEqual(lost.context, { shardId: 'shardId-000', owner: 'worker-1' });
    const corrupt = new KplFormatError('digest mismatch');
    assert.equal(corrupt.message, 'digest mismatch');
    assert.equal(corrupt.name, 'KplFormatError');
    assert.ok(corrupt instanceof TickReplayError);
  });

  it('are not retryable unless the thrower says so or a wrapped project error is', () => {
    assert.equal(new ConfigError('bad').retryable, false);
    assert.equal(new LeaseLostError('s', 'w').retryable, false);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    // A cause that is not a project error does not decide by itself: the thrower classifies it.
    assert.equal(new OutputError('x', {}, { cause: throttled }).retryable, false);
    const wrapped = new AwsCallError('DynamoDB GetItem failed', {}, { cause: throttled, retryable: isRetryableError(throttled) });
    assert.equal(wrapped.retryable, true);
    assert.equal(new TickReplayError('outer', {}, { cause: wrapped }).retryable, true);
    assert.equal(new TickReplayError('outer', {}, { cause: wrapped, retryable: false }).retryable, false);
  });

  it('are classified by the retry predicate as they say, whatever they wrap', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    assert.equal(isRetryableError(new AwsCallError('x', {}, { cause: throttled, retryable: true })), true);
    assert.equal(isRetryableError(new AwsCallError('x', {}, { cause: throttled, retryable: false })), false);
    // A plain error wrapping a project error gets the project error's answer.
    assert.equal(isRetryableError(new Error('outer', { cause: new LeaseLostError('s', 'w') })), false);
    assert.equal(isRetryableError(new Error('outer', { cause: new AwsCallError('x', {}, { retryable: true }) })), true);
  });
});
