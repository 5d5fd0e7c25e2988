/** What a command may touch of the outside world; tests hand in their own. */
export interface CliIo {
  /** Bytes are written as they are: a file name need not be UTF-8. */
  readonly stdout: (data: string | Uint8Array) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is a terminal (a progress line is rewritten in place there). */
  readonly terminal?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Calls `handler` on each `signal`; returns the function that stops that. */
  readonly onSignal: (signal: NodeJS.Signals, handler: () => void) => () => void;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    terminal: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    onSignal: (signal, handler) => {
      process.on(signal, handler);
      return () => void process.off(signal, handler);
    },
  };
}
