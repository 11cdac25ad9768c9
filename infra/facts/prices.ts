/**
 * Hetzner Cloud monthly prices used by the README's cost comparison, in EUR excluding VAT, as
 * published after Hetzner's price adjustment of 1 April 2026 (hetzner.com/cloud; the figures as
 * a cost breakdown dated 2026-04-15 quotes them). Only what was read is here: the load balancer,
 * volumes and Object Storage are priced by Hetzner per plan and per GB and are named, not summed.
 * Hetzner repriced new orders and rescales again from 15 June 2026 (announced without tables, which
 * were not read here): servers a new project creates may cost more than this.
 */
export const MONTHLY_EUR: Readonly<Record<string, number>> = {
  cx23: 3.99,
  cx33: 6.49,
};

/** The monthly price of the servers of a setup, or undefined when a type's price was not read. */
export function serversMonthlyEur(types: readonly string[]): number | undefined {
  let sum = 0;
  for (const t of types) {
    const price = MONTHLY_EUR[t];
    if (price === undefined) return undefined;
    sum += price;
  }
  return Math.round(sum * 100) / 100;
}
