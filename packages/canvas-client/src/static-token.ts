// One implementation for every package: @easel/auth's (trims the token, refuses an empty one).
export { staticTokenProvider } from "@easel/auth";
