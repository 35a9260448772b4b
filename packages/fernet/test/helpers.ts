/** Epoch seconds of an ISO time such as "1985-10-26T01:20:01-07:00". */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}
