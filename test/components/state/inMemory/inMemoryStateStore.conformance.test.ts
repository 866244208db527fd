/**
 * @module Conformance of `state.in-memory` (no external service; TTL driven by a test clock).
 */
import { createInMemoryStateStore } from "../../../../src/components/state/inMemory/inMemoryStateStore";
import { createTestClock, runStateStoreConformance } from "../../../conformance/stateStore.suite";

const clock = createTestClock();

runStateStoreConformance({
  name: "state.in-memory",
  features: ["ETAG", "TRANSACTIONAL", "TTL", "QUERY_API"],
  clock,
  create: async () => {
    const store = createInMemoryStateStore({ clock: clock.now });
    await store.init({});
    return store;
  },
});
