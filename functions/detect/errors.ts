/** A detection run that cannot proceed (bad input the caller must fix); `cause` holds the original error. */
export class DetectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DetectorError";
  }
}
