/** A hand-written SVG bar chart (no browser, no dependency): one horizontal bar per entry. */
export interface Bar {
  label: string;
  /** null: not available (drawn as an empty row marked n/a). */
  value: number | null;
  kind: 'variant' | 'floor' | 'latency';
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * `bars` share one scale (quotes/s); `second`, when given, is drawn below them on its own scale
 * (the delivery latency distribution: lines per latency bucket).
 */
export function barChartSvg(title: string, bars: readonly Bar[], second: readonly Bar[] = []): string {
  const width = 760;
  const labelW = 250;
  const barH = 26;
  const gap = 10;
  const top = 46;
  const plotW = width - labelW - 110;
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const max2 = Math.max(1, ...second.map((b) => b.value ?? 0));
  const all = [...bars, ...second];
  const height = top + all.length * (barH + gap) + 30;
  const fills = { floor: '#9aa5b1', variant: '#2f6fde', latency: '#d9822b' } as const;
  const rows = all.map((b, i) => {
    const y = top + i * (barH + gap);
    const scale = b.kind === 'latency' ? max2 : max;
    const w = b.value === null ? 0 : Math.max(1, (b.value / scale) * plotW);
    const fill = fills[b.kind];
    const text = b.value === null ? 'n/a' : b.kind === 'latency' ? b.value.toLocaleString('en-US') : `${b.value.toLocaleString('en-US')} /s`;
    return [
      `<text x="${labelW - 8}" y="${y + barH / 2 + 5}" text-anchor="end">${escape(b.label)}</text>`,
      `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${fill}"/>`,
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH / 2 + 5}">${text}</text>`,
    ].join('\n  ');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>
  ${rows.join('\n  ')}
  <text x="${labelW}" y="${height - 10}" fill="#555">blue: pipeline variants (end to end) · grey: floors · orange: delivery latency at --speed 1</text>
</svg>
`;
}
