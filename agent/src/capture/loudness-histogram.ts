/**
 * The gated statistics of EBU R128 (integrated loudness) and EBU Tech 3342 (loudness range)
 * without keeping every value: loudness values counted in 0.01 LU bins (loudness.ts).
 */

/** Loudness values in 0.01 LU bins from −70 LUFS up: the gated statistics without keeping every value. */
export class LoudnessHistogram {
  private static readonly MIN = -70;
  private static readonly STEP = 0.01;
  private readonly counts = new Float64Array(9000); // −70 … +20 LUFS
  private readonly energies = new Float64Array(9000);
  private total = 0;

  /** Adds a value that passed the absolute gate (≥ −70 LUFS). */
  add(lufs: number, energy: number): void {
    const bin = Math.min(
      this.counts.length - 1,
      Math.floor((lufs - LoudnessHistogram.MIN) / LoudnessHistogram.STEP),
    );
    if (bin < 0) return;
    this.counts[bin]!++;
    this.energies[bin]! += energy;
    this.total++;
  }

  get size(): number {
    return this.total;
  }

  /** The bin a value falls in. */
  private binOf(lufs: number): number {
    return Math.max(0, Math.floor((lufs - LoudnessHistogram.MIN) / LoudnessHistogram.STEP));
  }

  /** Mean energy of the values at or above `fromLufs`, and how many there are. */
  meanEnergy(fromLufs = LoudnessHistogram.MIN): { energy: number; count: number } {
    let energy = 0;
    let count = 0;
    for (let b = this.binOf(fromLufs); b < this.counts.length; b++) {
      energy += this.energies[b]!;
      count += this.counts[b]!;
    }
    return { energy: count > 0 ? energy / count : 0, count };
  }

  /** The `p`-th percentile (0…1) of the values at or above `fromLufs` (bin centres). */
  percentile(p: number, fromLufs: number): number | undefined {
    const first = this.binOf(fromLufs);
    let count = 0;
    for (let b = first; b < this.counts.length; b++) count += this.counts[b]!;
    if (count === 0) return undefined;
    const rank = p * (count - 1);
    let seen = 0;
    for (let b = first; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen > rank) return LoudnessHistogram.MIN + (b + 0.5) * LoudnessHistogram.STEP;
    }
    return undefined;
  }
}
