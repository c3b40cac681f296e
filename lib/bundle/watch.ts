import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface FileWatch {
  close (): void
}

/**
 * Calls `onChange` once changes to `file` have been quiet for `debounceMs`: bundlers write a file in several steps,
 * and one reload per build is enough. The directory is watched rather than the file, so a bundler that writes
 * elsewhere and renames over the file is seen too (a watch on the file itself would follow the old inode).
 * The watch never keeps the process alive.
 */
export function watchFile (file: string, debounceMs: number, onChange: () => void, onError: (error: Error) => void): FileWatch {
  const name = basename(file)
  let timer: NodeJS.Timeout | undefined
  const watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    // Some platforms do not say which file changed; then any change may be ours.
    if (changed !== null && changed !== name) return
    clearTimeout(timer)
    timer = setTimeout(onChange, debounceMs)
  })
  // Without a listener an error (the directory removed) would be thrown from the watcher.
  watcher.on('error', onError)
  return {
    close () {
      clearTimeout(timer)
      watcher.close()
    }
  }
}
