import { pythonUnavailable, runPython } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { Fernet, generateKey, MultiFernet } from "../src/index.js";

const PY_DECRYPT = `
import os, sys
from cryptography.fernet import Fernet
sys.stdout.write(Fernet(os.environ["KEY"]).decrypt(sys.stdin.read().encode()).hex())
`;
const PY_ENCRYPT = `
import os, sys
from cryptography.fernet import Fernet
sys.stdout.write(Fernet(os.environ["KEY"]).encrypt(bytes.fromhex(sys.stdin.read())).decode())
`;
const PY_ROTATE_CHECK = `
import os, sys
from cryptography.fernet import Fernet, MultiFernet
new, old = Fernet(os.environ["NEW"]), Fernet(os.environ["OLD"])
token = sys.stdin.read().encode()
sys.stdout.write(f"{new.extract_timestamp(token)} {new.decrypt(token).decode()}")
`;

describe.skipIf(pythonUnavailable("cryptography.fernet") !== undefined)(
  "interop with Python's cryptography.fernet",
  () => {
    const key = generateKey();
    const samples = [Buffer.alloc(0), Buffer.from("hello"), Buffer.from("é山田🎓"), Buffer.alloc(1000, 7)];

    it("Python decrypts tokens written here", () => {
      const fernet = new Fernet(key);
      for (const sample of samples) {
        expect(runPython(PY_DECRYPT, { input: fernet.encrypt(sample), env: { KEY: key } })).toBe(
          sample.toString("hex"),
        );
      }
    });

    it("tokens written by Python decrypt here", () => {
      const fernet = new Fernet(key);
      for (const sample of samples) {
        const token = runPython(PY_ENCRYPT, { input: sample.toString("hex"), env: { KEY: key } });
        expect(fernet.decrypt(token).equals(sample)).toBe(true);
      }
    });

    it("Python reads a token rotated here with its original timestamp", () => {
      const [next, old] = [generateKey(), key];
      const rotated = new MultiFernet([next, old]).rotate(new Fernet(old).encryptAtTime("r", 1_600_000_000));
      expect(runPython(PY_ROTATE_CHECK, { input: rotated, env: { NEW: next, OLD: old } })).toBe(
        "1600000000 r",
      );
    });
  },
);
