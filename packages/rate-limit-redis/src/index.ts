export {
  budgetKey,
  RateLimitBudgetOptionsError,
  RateLimitBudgetUnavailableError,
  RedisRateLimitBudget,
  type RedisRateLimitBudgetOptions,
} from "./budget.js";
