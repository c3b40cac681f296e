import type { Test } from 'tap'

/** Fails the test if anything reaches the main thread's last-resort handlers while it runs. */
export function guardMainThread (t: Test): void {
  const onRejection = (reason: unknown): void => { t.fail(`unhandled rejection in the main thread: ${String(reason)}`) }
  const onException = (error: Error): void => { t.fail(`uncaught exception in the main thread: ${error.message}`) }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  t.teardown(() => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  })
}
