/**
 * The layer rules of docs/architecture-rules.md as data, and the checker that holds the source
 * tree to them (test/unit/architecture.test.ts). Imports are read with the TypeScript parser, not
 * a regular expression, so comments, strings and template literals that merely look like imports
 * are not counted, and every form is: `import … from`, `import '…'`, `export … from`, `import()`,
 * `import('…').Type` and `import x = require('…')`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  /** The importing file, repo-relative with `/` separators. */
  file: string;
  line: number;
  /** As written; undefined for an `import()` whose argument is not a string literal. */
  specifier: string | undefined;
  /** Repo-relative path a relative specifier resolves to; undefined for packages (and `node:`). */
  target: string | undefined;
}

export interface LayerRule {
  /** Shown when the rule is broken, and listed in docs/architecture-rules.md. */
  rule: string;
  /** The files the rule constrains: repo-relative prefixes (a folder ends in `/`, a file is exact). */
  files: readonly string[];
  except?: readonly string[];
  /** Project paths these files must not import (prefixes as in `files`). */
  forbidden?: readonly string[];
  /** Packages these files must not import: names, or scopes ending in `/` (`@aws-sdk/`). */
  forbiddenPackages?: readonly string[];
  /** Or the other way round: the only project paths these files may import. */
  allowedOnly?: readonly string[];
  /** Also everything the files import indirectly (what a bundler would pull in). */
  transitive?: boolean;
}

const AWS_PACKAGES = ['@aws-sdk/', '@smithy/', 'aws-lambda'];
const TOOLING = ['test/', 'bench/', 'data/', 'bin/'];

export const LAYER_RULES: readonly LayerRule[] = [
  {
    rule: 'lib/time/ (clock, sleep, backoff, retry) is the bottom layer: it imports only itself and lib/errors.ts',
    files: ['lib/time/'],
    allowedOnly: ['lib/time/', 'lib/errors.ts'],
    forbiddenPackages: AWS_PACKAGES,
  },
  {
    rule: 'the quote core lib/quotes/ imports only itself, lib/time/ and lib/errors.ts (nothing of lib/aws/, lib/records/, lib/replay/, infra/, no AWS SDK)',
    files: ['lib/quotes/'],
    allowedOnly: ['lib/quotes/', 'lib/time/', 'lib/errors.ts'],
    forbiddenPackages: AWS_PACKAGES,
  },
  {
    rule: 'the Kinesis record contract lib/records/ (quote codec, KPL aggregation) imports only itself, lib/quotes/ and lib/errors.ts, and no AWS SDK',
    files: ['lib/records/'],
    allowedOnly: ['lib/records/', 'lib/quotes/', 'lib/errors.ts'],
    forbiddenPackages: AWS_PACKAGES,
  },
  {
    rule: 'the input layer lib/input/ (where historical bytes come from, and their compression) serves the replay and imports no replay, live or consumer code',
    files: ['lib/input/'],
    forbidden: ['lib/replay/', 'lib/live/', 'lib/consumer/', 'lib/midprice/', 'functions/', 'lib/records/', 'lib/control/'],
  },
  {
    rule: 'the AWS adapter lib/aws/ serves both sides and imports neither (lib/replay/, lib/live/, lib/consumer/, lib/midprice/, functions/)',
    files: ['lib/aws/'],
    forbidden: ['lib/replay/', 'lib/live/', 'lib/consumer/', 'lib/midprice/', 'functions/'],
  },
  {
    rule: 'the consumer side (lib/consumer/, lib/midprice/, functions/) meets the producer side only through Kinesis and lib/records/: no lib/replay/, lib/live/ or lib/aws/producer.ts',
    files: ['lib/consumer/', 'lib/midprice/', 'functions/'],
    forbidden: ['lib/replay/', 'lib/live/', 'lib/aws/producer.ts'],
  },
  {
    rule: 'the producer side (lib/replay/, lib/live/) meets the consumer side only through Kinesis and lib/records/: no lib/consumer/, lib/midprice/, functions/; the replay depends on the QuoteSink port, not lib/aws/producer.ts',
    files: ['lib/replay/', 'lib/live/'],
    forbidden: ['lib/consumer/', 'lib/midprice/', 'functions/', 'lib/aws/producer.ts'],
  },
  {
    rule: 'nothing below the CLI imports infra/: only lib/cli/ (the composition root) may',
    files: ['lib/', 'functions/'],
    except: ['lib/cli/'],
    forbidden: ['infra/'],
  },
  {
    rule: 'the Lambda handlers (functions/) pull nothing of infra/, lib/cli/ or lib/demo/ into their bundle, directly or not',
    files: ['functions/'],
    forbidden: ['infra/', 'lib/cli/', 'lib/demo/'],
    transitive: true,
  },
  {
    rule: 'the composition roots lib/cli/ and lib/demo/ are imported by nothing in lib/, functions/ or infra/',
    files: ['lib/', 'functions/', 'infra/'],
    except: ['lib/cli/', 'lib/demo/'],
    forbidden: ['lib/cli/', 'lib/demo/'],
  },
  {
    rule: 'production code (lib/, functions/, infra/) imports no tooling (test/, bench/, data/, bin/)',
    files: ['lib/', 'functions/', 'infra/'],
    forbidden: TOOLING,
  },
];

/** Every .ts file under `root`, repo-relative (skips node_modules and dot-directories). */
export function listTypeScriptFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listTypeScriptFiles(root, rel));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out.sort();
}

function resolveTarget(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

/** The imports of one file (`file` is repo-relative; `text` its source). */
export function importsOf(file: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, specifier: string | undefined): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    refs.push({ file, line, specifier, target: specifier === undefined ? undefined : resolveTarget(file, specifier) });
  };
  const literal = (node: ts.Node | undefined): string | undefined =>
    node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      add(node, literal(node.moduleSpecifier));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, literal(node.moduleReference.expression));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, literal(node.arguments[0]));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, literal(node.argument.literal));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

/** The imports of every .ts file under `root`. */
export function readImportGraph(root: string): ImportRef[] {
  return listTypeScriptFiles(root).flatMap((file) => importsOf(file, readFileSync(path.join(root, file), 'utf8')));
}

function under(p: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => (prefix.endsWith('/') ? p.startsWith(prefix) : p === prefix));
}

function packageMatches(specifier: string, names: readonly string[]): boolean {
  return names.some((name) => (name.endsWith('/') ? specifier.startsWith(name) : specifier === name || specifier.startsWith(`${name}/`)));
}

function constrains(rule: LayerRule, file: string): boolean {
  return under(file, rule.files) && !under(file, rule.except ?? []);
}

/** Whether `ref` breaks `rule`. */
function breaks(rule: LayerRule, ref: ImportRef): boolean {
  if (ref.specifier === undefined) return false;
  if (ref.target === undefined) return packageMatches(ref.specifier, rule.forbiddenPackages ?? []);
  if (under(ref.target, rule.forbidden ?? [])) return true;
  return rule.allowedOnly !== undefined && !under(ref.target, rule.allowedOnly);
}

export interface Violation {
  rule: string;
  /** `file:line imports 'specifier'` (with the chain for a transitive rule). */
  message: string;
}

/**
 * Checks every import against every rule. `exists` tells whether a repo-relative path is a file
 * (an import that resolves to nothing is reported: the checker cannot vouch for it).
 */
export function checkImports(refs: readonly ImportRef[], rules: readonly LayerRule[], exists: (p: string) => boolean): Violation[] {
  const violations: Violation[] = [];
  const byFile = new Map<string, ImportRef[]>();
  for (const ref of refs) {
    const list = byFile.get(ref.file) ?? [];
    list.push(ref);
    byFile.set(ref.file, list);
  }
  const production = (file: string): boolean => under(file, ['lib/', 'functions/', 'infra/']);
  for (const ref of refs) {
    if (!production(ref.file)) continue;
    if (ref.specifier === undefined) {
      violations.push({ rule: 'imports must be checkable', message: `${ref.file}:${ref.line} has an import() whose module is computed; the layer rules cannot check it` });
    } else if (ref.target !== undefined && !exists(ref.target)) {
      violations.push({ rule: 'imports must resolve', message: `${ref.file}:${ref.line} imports '${ref.specifier}', which resolves to no file (${ref.target})` });
    }
  }
  for (const rule of rules) {
    for (const [file, fileRefs] of byFile) {
      if (!constrains(rule, file)) continue;
      if (!rule.transitive) {
        for (const ref of fileRefs) {
          if (breaks(rule, ref)) violations.push({ rule: rule.rule, message: `${ref.file}:${ref.line} imports '${ref.specifier}'` });
        }
        continue;
      }
      // Breadth first, so the chain reported is a shortest one.
      const seen = new Map<string, string[]>([[file, [file]]]);
      const queue = [file];
      while (queue.length > 0) {
        const current = queue.shift() as string;
        const chain = seen.get(current) as string[];
        for (const ref of byFile.get(current) ?? []) {
          if (breaks(rule, ref)) {
            violations.push({ rule: rule.rule, message: `${[...chain, ref.target ?? ref.specifier].join(' → ')} (${ref.file}:${ref.line} imports '${ref.specifier}')` });
          }
          if (ref.target !== undefined && !seen.has(ref.target)) {
            seen.set(ref.target, [...chain, ref.target]);
            queue.push(ref.target);
          }
        }
      }
    }
  }
  return violations;
}

/** Checks the source tree under `root`. */
export function checkTree(root: string, rules: readonly LayerRule[] = LAYER_RULES): Violation[] {
  return checkImports(readImportGraph(root), rules, (p) => existsSync(path.join(root, p)));
}
