/** One measured number, as printed by `npm run bench` and recorded in BENCHMARKS.md. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}
