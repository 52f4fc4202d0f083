/** A hand-written SVG bar chart (no browser, no dependency): one horizontal bar per entry. */
export interface Bar {
  label: string;
  /** null: not available (drawn as an empty row marked n/a). */
  value: number | null;
  kind: 'variant' | 'floor';
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(title: string, bars: readonly Bar[]): string {
  const width = 760;
  const labelW = 250;
  const barH = 26;
  const gap = 10;
  const top = 46;
  const plotW = width - labelW - 110;
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const height = top + bars.length * (barH + gap) + 30;
  const rows = bars.map((b, i) => {
    const y = top + i * (barH + gap);
    const w = b.value === null ? 0 : Math.max(1, (b.value / max) * plotW);
    const fill = b.kind === 'floor' ? '#9aa5b1' : '#2f6fde';
    const text = b.value === null ? 'n/a' : `${b.value.toLocaleString('en-US')} /s`;
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
  <text x="${labelW}" y="${height - 10}" fill="#555">blue: pipeline variants (end to end) · grey: floors</text>
</svg>
`;
}
