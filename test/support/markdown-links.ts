/**
 * Relative links of Markdown pages, and whether they resolve: the target file exists and, when the
 * link has a fragment, the target page has a heading with that anchor. Anchors are computed the
 * way GitHub renders them (github-slugger's rules), since that is where the pages are read.
 * Pure except `findBrokenLinks`, which reads the files it is pointed at.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface MarkdownLink {
  /** The link target as written, e.g. `docs/architecture.md#arrival-order`. */
  target: string;
  /** 1-based line of the page where the link starts. */
  line: number;
}

/** Fenced code blocks (``` or ~~~) are not Markdown: their "links" and "headings" do not count. */
function withoutFences(markdown: string): string[] {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker[0];
      return '';
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence) fence = undefined;
      return '';
    }
    return line;
  });
}

/** Inline code spans are dropped too: `[x](y)` inside backticks is text, not a link. */
function withoutInlineCode(line: string): string {
  return line.replace(/(`+)[^`]*?\1/g, '');
}

/** Links and images, `[text](target)` / `![alt](target)`, outside code. Titles are ignored. */
export function extractLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutFences(markdown).forEach((raw, index) => {
    const line = withoutInlineCode(raw);
    for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      links.push({ target: match[1] ?? '', line: index + 1 });
    }
  });
  return links;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function slugify(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading contributes its text
    .replace(/`/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page defines, with GitHub's `-1`, `-2`… suffixes for repeated headings. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = slugify(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/**
 * The relative links of `page` (a path) that do not resolve, as `page:line target (why)`.
 * External links (`https:`, `mailto:`…) are not checked: no network here.
 */
export function findBrokenLinks(page: string): string[] {
  const markdown = readFileSync(page, 'utf8');
  const broken: string[] = [];
  for (const { target, line } of extractLinks(markdown)) {
    if (isExternal(target)) continue;
    const [file = '', fragment] = target.split('#', 2);
    const resolved = file === '' ? page : path.resolve(path.dirname(page), decodeURIComponent(file));
    const where = `${path.basename(page)}:${line} ${target}`;
    if (!existsSync(resolved)) {
      broken.push(`${where} (no such file)`);
      continue;
    }
    if (fragment === undefined || fragment === '') continue;
    if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
      broken.push(`${where} (an anchor into a file that is not a Markdown page)`);
      continue;
    }
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(fragment)) broken.push(`${where} (no such heading)`);
  }
  return broken;
}
