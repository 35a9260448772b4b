export { raceAbort } from "./abort.js";
export { type BackoffOptions, backoffDelay } from "./backoff.js";
export { type Clock, nowSeconds, systemClock } from "./clock.js";
export { ManualClock } from "./manual-clock.js";
