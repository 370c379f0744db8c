/** A stream that keeps what is written to it: the stdout/stderr of a command run in process. */
import { Writable } from 'node:stream';

export class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}
