/** A Chromium binary: FLOWLOG_KIT_CHROMIUM, or chromium on PATH; undefined when there is none. */
export function findChromium(): string | undefined;
/** findChromium(), or Debian's chromium package installed with apt-get (as root); throws with instructions otherwise. */
export function ensureChromium(log?: (message: string) => void): string;
