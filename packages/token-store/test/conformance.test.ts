import { describe, it } from "vitest";
import { tokenStoreConformance } from "../src/conformance.js";
import { MemoryStore } from "../src/index.js";

// MemoryStore lives in one process, so the cross-process group does not apply to it.
tokenStoreConformance({ describe, it }, ({ clock }) => new MemoryStore({ clock }));
