/** Runs async sections one after another (a mutex without timeouts: holders never wait on each other). */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section);
    // The chain continues whether a section fails or not; the caller still sees the failure.
    this.#tail = result.catch(() => {});
    return result;
  }
}
