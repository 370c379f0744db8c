/**
 * An event that cannot be encoded as it stands (a field both a value and an
 * object, a non-finite number, an invalid CEF key). The policy in encode.ts
 * turns it into a schema_invalid replacement event; nothing is dropped.
 */
import { LogwardError } from '../errors.js';

export class EncodeError extends LogwardError {
  override readonly name = 'EncodeError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}
