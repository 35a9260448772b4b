/**
 * A Canvas-like cost model for the simulator: Canvas charges the seconds of CPU and database time a
 * request took (canvas:app/middleware/request_throttle.rb), a fixed part per request and a part per
 * row it loads and renders. The bucket is one no run can fill, so `/__sim/stats` `cost` is the work,
 * never a pacing wait, and no client is ever throttled.
 */
export const CANVAS_COST_MODEL = { costPerRequest: 0.05, costPerRow: 0.002, hwm: 1e12, maximum: 1e12 };
