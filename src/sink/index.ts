/** The sink's public surface: what the pipeline and the CLI import. */
export { SyslogSink, DEFAULT_MAX_BATCH_BYTES } from './sink.js';
export { SyslogReceiver, type ReceiverOptions, type ReceiverStats } from './receiver.js';
export { ConnectFailure } from './classify.js';
export { encodeFrame, encodeFrames, FrameDecoder, FramingError } from './framing.js';
export type {
  ConnectFailureReason,
  FrameSource,
  SinkDeps,
  SinkEvent,
  SinkLogger,
  SinkOptions,
  SinkProtocol,
  SinkStatus,
} from './types.js';
