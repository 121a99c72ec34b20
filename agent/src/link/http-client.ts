/**
 * fetch-based client for the agent service routes (AGENT_ROUTES): bearer node
 * credential, `{ data }` envelope unwrapped, failures as typed errors that say whether
 * a retry can help (actions/toolkit requestUtils: network errors, 408, 429, 502–504).
 */
import type { Readable } from 'node:stream';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import {
  AGENT_ROUTES,
  type AgentCopyRemovedBody,
  API_PREFIX,
  type ContinuationBody,
  EnrollExchangeResult,
  type HeartbeatBody,
  HeartbeatResult,
  type InterfaceReport,
  InterfaceReportResult,
  type JobHeartbeatBody,
  JobHeartbeatResult,
  JobLease,
  type JobTerminalBody,
  NodeConfig,
  OccurrenceSyncResult,
  parseNodeCredential,
  UPLOAD_HEADERS,
  UploadStatus,
} from '../../../shared/src/agent-api.js';
import { ERROR_CODES, type ErrorBody } from '../../../shared/src/errors.js';
import { type Diagnostics, RotatedCredential } from '../../../shared/src/lifecycle.js';
import { encodeListenFrame, type ListenFrame } from '../../../shared/src/listen.js';
import type { HealthEventMessage, MeterFrame } from '../../../shared/src/mqtt.js';
import { expectShape } from '../support/validate.js';

/** The controller answered with an error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** No answer: connection refused or reset, DNS failure, timeout. */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

const checkErrorBody = Compile(
  Type.Object({
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  }),
);

const RETRYABLE_STATUSES = new Set([408, 429, 502, 503, 504]);

/** True when the same request may succeed later. Only use it for idempotent calls. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && RETRYABLE_STATUSES.has(error.status);
}

export function isApiError(error: unknown, status: number, code?: string): error is ApiError {
  return error instanceof ApiError && error.status === status && (code === undefined || error.code === code);
}

/** 409 stale_lease: another holder has the job (the epoch we carry is not current). */
export function isStaleLease(error: unknown): boolean {
  return isApiError(error, 409, ERROR_CODES.staleLease);
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
  if (!(error instanceof Error)) return String(error);
  // fetch wraps the useful part (ECONNREFUSED, ENOTFOUND, "other side closed") in causes.
  let root: unknown = error;
  while (root instanceof Error && root.cause !== undefined) root = root.cause;
  if (root === error) return error.message;
  const detail = (root as { code?: string }).code ?? (root instanceof Error ? root.message : String(root));
  return `${error.message} (${detail})`;
}

export interface HttpClientOptions {
  /** Controller base URL, e.g. http://controller:8080 (no /api/v1). */
  baseUrl: string;
  /** `<nodeId>.<secret>`; needed for everything but enroll and healthz. */
  credential?: string;
  /** Per-request timeout for JSON calls (not for upload bodies). Default 15 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface UploadRangeRequest {
  recordingId: string;
  epoch: number;
  sha256: string;
  totalBytes: number;
  /** First byte sent; the body carries bytes offset..totalBytes-1. */
  offset: number;
  body: Readable;
  signal?: AbortSignal;
}

/**
 * `bytes N-(total-1)/total` when resuming from N > 0; at N = total the unsatisfied-range form
 * `bytes *` + `/total` (an empty body: the controller holds every byte and completes the
 * upload); else undefined (a whole-file PUT).
 */
export function contentRangeFor(offset: number, totalBytes: number): string | undefined {
  if (offset === 0) return undefined;
  if (!Number.isInteger(offset) || !Number.isInteger(totalBytes) || offset < 0 || offset > totalBytes) {
    throw new RangeError(`cannot send from byte ${offset} of a ${totalBytes}-byte file`);
  }
  if (offset === totalBytes) return `bytes */${totalBytes}`;
  return `bytes ${offset}-${totalBytes - 1}/${totalBytes}`;
}

interface RequestOptions {
  body?: unknown;
  auth?: boolean;
  signal?: AbortSignal;
  /** false: no per-request timeout (streamed uploads). */
  timeout?: boolean;
  headers?: Record<string, string>;
  rawBody?: Readable;
  /** A small binary body, sent whole (set its content-type in `headers`). */
  bytes?: Uint8Array;
}

export class AgentHttpClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  get nodeId(): string {
    const parsed = this.options.credential ? parseNodeCredential(this.options.credential) : undefined;
    if (!parsed) throw new Error('no valid node credential: run earshot-agent enroll first');
    return parsed.nodeId;
  }

  /** GET /healthz (outside /api/v1); resolves when the controller answers 2xx. */
  async healthz(signal?: AbortSignal): Promise<void> {
    await this.send('GET', `${this.baseUrl}/healthz`, { auth: false, signal });
  }

  async enroll(token: string, signal?: AbortSignal): Promise<EnrollExchangeResult> {
    const data = await this.call('POST', AGENT_ROUTES.enroll, { body: { token }, auth: false, signal });
    return expectShape(EnrollExchangeResult, data, 'enroll response');
  }

  async config(signal?: AbortSignal): Promise<NodeConfig> {
    const data = await this.call('GET', AGENT_ROUTES.config(this.nodeId), { signal });
    return expectShape(NodeConfig, data, 'node config');
  }

  async heartbeat(body: HeartbeatBody, signal?: AbortSignal): Promise<HeartbeatResult> {
    const data = await this.call('POST', AGENT_ROUTES.heartbeat(this.nodeId), { body, signal });
    return expectShape(HeartbeatResult, data, 'heartbeat response');
  }

  /** Reports the capture devices this node has now (idempotent: may be retried). */
  async reportInterfaces(body: InterfaceReport, signal?: AbortSignal): Promise<InterfaceReportResult> {
    const data = await this.call('PUT', AGENT_ROUTES.interfaces(this.nodeId), { body, signal });
    return expectShape(InterfaceReportResult, data, 'interface report');
  }

  /** Reports a health event (the HTTP fallback of the MQTT `events` topic; idempotent by event id). */
  async healthEvent(body: HealthEventMessage, signal?: AbortSignal): Promise<void> {
    await this.call('POST', AGENT_ROUTES.healthEvents(this.nodeId), { body, signal });
  }

  /** A meter frame over HTTP (the fallback of the MQTT `meters` topic while MQTT is down). */
  async meterFrame(frame: MeterFrame, signal?: AbortSignal): Promise<void> {
    await this.call('POST', AGENT_ROUTES.meterFrame(this.nodeId), { body: frame, signal });
  }

  /** A live listen frame over HTTP (the fallback of the MQTT `listen` topic while MQTT is down). */
  async listenChunk(frame: ListenFrame, signal?: AbortSignal): Promise<void> {
    await this.call('POST', AGENT_ROUTES.listenChunk(this.nodeId), {
      bytes: encodeListenFrame(frame),
      headers: { 'content-type': 'application/octet-stream' },
      signal,
    });
  }

  /** A new credential for the rotate-credential job `jobId` (pending until first used). */
  async rotateCredential(jobId: string, signal?: AbortSignal): Promise<RotatedCredential> {
    const data = await this.call('POST', AGENT_ROUTES.rotateCredential(this.nodeId), {
      body: { jobId },
      signal,
    });
    return expectShape(RotatedCredential, data, 'rotated credential');
  }

  async uploadDiagnostics(jobId: string, body: Diagnostics, signal?: AbortSignal): Promise<void> {
    await this.call('PUT', AGENT_ROUTES.lifecycleDiagnostics(this.nodeId, jobId), { body, signal });
  }

  /** A lease, or null when no job is waiting. Not idempotent: do not blindly retry. */
  async claimNext(signal?: AbortSignal): Promise<JobLease | null> {
    const data = await this.call('POST', AGENT_ROUTES.claimNext(this.nodeId), { body: {}, signal });
    return data === null || data === undefined ? null : expectShape(JobLease, data, 'job lease');
  }

  /** Leases the node's scheduled occurrences of the next days and lists those it holds. */
  async occurrenceSync(signal?: AbortSignal): Promise<OccurrenceSyncResult> {
    const data = await this.call('POST', AGENT_ROUTES.occurrenceSync(this.nodeId), { body: {}, signal });
    return expectShape(OccurrenceSyncResult, data, 'occurrence sync');
  }

  /** Registers a continuation part recorded after a restart (idempotent: may be retried). */
  async jobPart(
    jobId: string,
    recordingId: string,
    body: ContinuationBody,
    signal?: AbortSignal,
  ): Promise<JobLease> {
    const data = await this.call('PUT', AGENT_ROUTES.jobPart(jobId, recordingId), { body, signal });
    return expectShape(JobLease, data, 'continuation lease');
  }

  async jobHeartbeat(
    jobId: string,
    body: JobHeartbeatBody,
    signal?: AbortSignal,
  ): Promise<JobHeartbeatResult> {
    const data = await this.call('POST', AGENT_ROUTES.jobHeartbeat(jobId), { body, signal });
    return expectShape(JobHeartbeatResult, data, 'job heartbeat response');
  }

  async jobFailed(jobId: string, body: JobTerminalBody, signal?: AbortSignal): Promise<void> {
    await this.call('POST', AGENT_ROUTES.jobFailed(jobId), { body, signal });
  }

  async jobCancelled(jobId: string, body: JobTerminalBody, signal?: AbortSignal): Promise<void> {
    await this.call('POST', AGENT_ROUTES.jobCancelled(jobId), { body, signal });
  }

  async agentCopyRemoved(
    recordingId: string,
    body: AgentCopyRemovedBody,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call('POST', AGENT_ROUTES.agentCopyRemoved(recordingId), { body, signal });
  }

  async uploadStatus(recordingId: string, signal?: AbortSignal): Promise<UploadStatus> {
    const data = await this.call('GET', AGENT_ROUTES.cacheFile(recordingId), { signal });
    return expectShape(UploadStatus, data, 'upload status');
  }

  /** PUT bytes offset..end of the file (streamed). */
  async uploadRange(request: UploadRangeRequest): Promise<UploadStatus> {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      [UPLOAD_HEADERS.epoch]: String(request.epoch),
      [UPLOAD_HEADERS.sha256]: request.sha256,
      [UPLOAD_HEADERS.totalBytes]: String(request.totalBytes),
    };
    const range = contentRangeFor(request.offset, request.totalBytes);
    if (range) headers['content-range'] = range;
    const data = await this.call('PUT', AGENT_ROUTES.cacheFile(request.recordingId), {
      rawBody: request.body,
      headers,
      signal: request.signal,
      timeout: false,
    });
    return expectShape(UploadStatus, data, 'upload status');
  }

  private call(method: string, route: string, options: RequestOptions): Promise<unknown> {
    return this.send(method, `${this.baseUrl}${API_PREFIX}${route}`, options);
  }

  private async send(method: string, url: string, options: RequestOptions): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.auth ?? true) {
      if (!this.options.credential) throw new Error('no node credential: run earshot-agent enroll first');
      headers.authorization = `Bearer ${this.options.credential}`;
    }
    let body: RequestInit['body'];
    // undici accepts any AsyncIterable<Uint8Array>; the global RequestInit type does not say so.
    if (options.rawBody) body = options.rawBody as unknown as ReadableStream<Uint8Array>;
    else if (options.bytes) body = options.bytes as BodyInit;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const signals = [
      options.signal,
      options.timeout === false ? undefined : AbortSignal.timeout(this.timeoutMs),
    ];
    const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));

    let response: Response;
    let text: string;
    try {
      // undici needs duplex 'half' for a streamed request body.
      const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal };
      if (options.rawBody) init.duplex = 'half';
      response = await this.fetchImpl(url, init);
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const what = (error as Error).name === 'TimeoutError' ? 'timed out' : 'failed';
      throw new NetworkError(`${method} ${new URL(url).pathname} ${what}`, { cause: error });
    }

    const json = parseJson(text);
    if (!response.ok) {
      // A proxy in between may answer 502/504 with HTML: fall back to the status line.
      const envelope = checkErrorBody.Check(json) ? (json as ErrorBody).error : undefined;
      throw new ApiError(
        response.status,
        envelope?.code ?? `http_${response.status}`,
        envelope?.message ?? (response.statusText || 'request failed'),
        envelope?.details,
      );
    }
    if (json !== null && typeof json === 'object' && 'data' in json) return (json as { data: unknown }).data;
    return json;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
