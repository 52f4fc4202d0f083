/**
 * Venue sequence numbers, checked per stream (a symbol, or the connection). For venues that
 * number messages consecutively (Coinbase `sequence_num`), a jump is that many messages missed:
 * counted (gaps and missed messages) and logged with its size, sampled so that a bad link cannot
 * flood the log. For venues whose numbers only increase (Binance `u`), only a step back counts
 * (a replayed or reordered message). A new connection starts every stream afresh.
 */
import type { Logger } from '../logging/logger.ts';
import { isSampled, samplingNote } from './log-sampler.ts';
import type { VenueSequence } from './venues/venue.ts';

export interface SequenceStats {
  /** Jumps in consecutive sequences. */
  sequenceGaps: number;
  /** Messages those jumps skipped. */
  missedMessages: number;
  /** Numbers that went backwards or repeated. */
  sequenceRegressions: number;
}

export class SequenceCheck {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly stats: SequenceStats,
    private readonly logger: Logger,
  ) {}

  observe(sequence: VenueSequence): void {
    const previous = this.last.get(sequence.stream);
    this.last.set(sequence.stream, Math.max(previous ?? -Infinity, sequence.value));
    if (previous === undefined) return;
    if (sequence.value <= previous) {
      const regressions = ++this.stats.sequenceRegressions;
      if (isSampled(regressions)) {
        this.logger.warn('venue sequence went backwards (a repeated or reordered message)', { stream: sequence.stream, previous, got: sequence.value, regressions, note: samplingNote(regressions) });
      }
      return;
    }
    const gap = sequence.value - previous - 1;
    if (sequence.kind !== 'consecutive' || gap === 0) return;
    const gaps = ++this.stats.sequenceGaps;
    this.stats.missedMessages += gap;
    if (isSampled(gaps)) {
      this.logger.warn('venue sequence gap: messages missed', { stream: sequence.stream, gap, after: previous, got: sequence.value, gaps, missedMessages: this.stats.missedMessages, note: samplingNote(gaps) });
    }
  }

  /** A new connection: the venue numbers afresh. */
  reset(): void {
    this.last.clear();
  }
}
