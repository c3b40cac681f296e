/**
 * Resolves once `condition()` holds, looking again after each turn of the event loop (after I/O has run): for a
 * state that several events build up (N requests joined a render), where no single event says it is reached.
 */
export async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1))
}
