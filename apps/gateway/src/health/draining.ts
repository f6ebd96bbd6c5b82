/**
 * Whether this instance is draining: set once, when it is asked to stop (SIGTERM), before anything
 * closes. `GET /health/ready` answers 503 from then on, so the load balancer sends new requests to the
 * other instances while this one still answers what reaches it, for SHUTDOWN_DRAIN_MS; then the stream
 * clients are closed with a resume hint, the HTTP server finishes its in-flight requests and the job
 * workers stop taking jobs (README, "Running several instances").
 */
export const drainState: { since: number | null } = { since: null };
