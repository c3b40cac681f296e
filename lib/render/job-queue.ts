import type { Job } from './slot'

/**
 * The renders waiting for a worker, oldest first. An array read from a moving head rather than shifted: taking the
 * oldest job is then O(1), and a job that leaves early (a cancel, a deadline) is only marked, and skipped when the
 * head reaches it, so leaving is O(1) too. `job.queued` is the mark.
 *
 * Every entry behind the head is cleared: a job there has left, and once it settles its promise holds its outcome
 * (a page's body). Kept, up to 1,024 of them stayed reachable under load, which made a busy main thread's scavenges
 * promote ~20 MB of pages they should have freed (bench:pool, listing, 16 in flight: 31 full GCs in 3 s).
 */
export class JobQueue {
  #jobs: Array<Job | undefined> = []
  #head = 0
  #size = 0

  /** Jobs still waiting (marked ones excluded). */
  get size (): number {
    return this.#size
  }

  /** Adds a job last, or first (a task handed back by a worker that was replaced: it keeps its turn). */
  add (job: Job, first: boolean): void {
    if (first) this.#jobs.splice(this.#head, 0, job)
    else this.#jobs.push(job)
    job.queued = true
    this.#size++
  }

  /** The oldest job still waiting, left in the queue; jobs that left early are dropped on the way. */
  peek (): Job | undefined {
    while (this.#head < this.#jobs.length) {
      const job = this.#jobs[this.#head] as Job
      if (job.queued) return job
      this.#jobs[this.#head++] = undefined
    }
    this.#jobs.length = 0
    this.#head = 0
    return undefined
  }

  /** Takes out the job peek() returned, to hand it to a worker. */
  takeOldest (): void {
    const job = this.#jobs[this.#head] as Job
    this.#jobs[this.#head++] = undefined
    this.leave(job)
    // Now and then the array is cut down to what is left, so a long busy spell does not keep every job it saw.
    if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head)
      this.#head = 0
    }
  }

  /** Marks a job as gone wherever it is (a no-op for one not waiting). */
  leave (job: Job): void {
    if (!job.queued) return
    job.queued = false
    this.#size--
  }

  /** The jobs still waiting, oldest first, as a list of their own (failing them changes the queue). */
  waiting (): Job[] {
    return (this.#jobs.slice(this.#head) as Job[]).filter((job) => job.queued)
  }
}
