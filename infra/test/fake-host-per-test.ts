/** For vitest files only (npm run bench loads fake-host.ts without vitest). */
import { afterEach, beforeEach } from "vitest";
import { fakeHost, type FakeHost } from "./fake-host";

/** A new fake host for every test of the enclosing describe block, handed to `use`, removed after it. */
export function fakeHostPerTest(use: (host: FakeHost) => void): void {
  let current: FakeHost | undefined;
  beforeEach(() => use((current = fakeHost())));
  afterEach(() => current?.cleanup());
}
