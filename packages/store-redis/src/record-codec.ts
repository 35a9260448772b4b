import { MultiFernet } from "@easel/fernet";
import {
  CorruptRecordError,
  DecryptFailedError,
  parseTokenRecord,
  pythonJsonDumps,
  type TokenRecord,
} from "@easel/token-store";
import { InvalidArgumentError } from "./options.js";

/**
 * Record <-> Redis value: one Fernet token of the record's JSON, exactly what the file store
 * writes to disk (Python `json.dumps` bytes), so a value can move between stores and tools.
 */
export class RecordCodec {
  readonly #fernet: MultiFernet;

  /** @param keyList the value of `EASEL_FERNET_KEY`: comma-separated keys, the first encrypts. */
  constructor(keyList: string) {
    const keys = keyList.split(",").map((key) => key.trim());
    try {
      this.#fernet = new MultiFernet(keys);
    } catch (error) {
      // @easel/fernet's messages name the key's position, never its bytes.
      const why = (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
      throw new InvalidArgumentError(
        `EASEL_FERNET_KEY is not a valid Fernet key list: ${why}. It takes comma-separated keys, newest ` +
          "first (create one with `easel key generate`).",
        { cause: error },
      );
    }
  }

  encode(record: TokenRecord): string {
    return this.#fernet.encrypt(pythonJsonDumps(record));
  }

  /**
   * @param where names the value in errors (a Redis key and server, never a secret).
   * @throws DecryptFailedError wrong key or altered value; CorruptRecordError not a token record.
   */
  decode(value: string, where: string, location: string): TokenRecord {
    let plaintext: Buffer;
    try {
      plaintext = this.#fernet.decrypt(value);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new DecryptFailedError(
        `${where} cannot be decrypted with EASEL_FERNET_KEY${typeof code === "string" ? ` (${code})` : ""}: ` +
          "it was written with another key (add that key after the current one to rotate) or was altered. " +
          "It was left untouched.",
        { cause: error, location },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
    } catch (error) {
      throw new CorruptRecordError(`${where} decrypts but is not UTF-8 JSON; it was left untouched.`, {
        cause: error,
        location,
      });
    }
    return parseTokenRecord(json, location);
  }
}
