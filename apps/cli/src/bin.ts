#!/usr/bin/env node
import { runCli } from "./program.js";

// `easel export ... | head` closes our stdout early: the reader has what it wanted, which is no failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv);
