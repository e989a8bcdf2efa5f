import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics (`/metrics`). One object per server so tests and several servers in one
 * process do not share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'gregor_connections',
    help: 'Open authenticated WebSocket connections',
    registers: [this.registry],
  });
  readonly users = new Gauge({
    name: 'gregor_users',
    help: 'Users with at least one connection on this node',
    registers: [this.registry],
  });
  readonly messagesIn = new Counter({
    name: 'gregor_messages_in_total',
    help: 'Messages consumed, by source and result',
    labelNames: ['source', 'status'] as const,
    registers: [this.registry],
  });
  readonly framesOut = new Counter({
    name: 'gregor_frames_out_total',
    help: 'Frames sent to devices',
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'gregor_deliveries_total',
    help: 'Live messages delivered to devices',
    registers: [this.registry],
  });
  readonly slowConsumers = new Counter({
    name: 'gregor_slow_consumer_disconnects_total',
    help: 'Devices cut off because their send buffer filled',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'gregor_errors_total',
    help: 'Errors returned, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly hookFailures = new Counter({
    name: 'gregor_hook_failures_total',
    help: 'Extension hooks that threw where a throw is not a refusal (the other hooks still ran)',
    labelNames: ['hook', 'extension'] as const,
    registers: [this.registry],
  });
  readonly consumeSeconds = new Histogram({
    name: 'gregor_consume_seconds',
    help: 'Time from receiving a message to its durable store and fan-out',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly syncs = new Counter({
    name: 'gregor_syncs_total',
    help: 'Device syncs, by answer',
    labelNames: ['answer'] as const,
    registers: [this.registry],
  });
  readonly reminders = new Counter({
    name: 'gregor_reminders_total',
    help: 'Reminders delivered',
    registers: [this.registry],
  });

  readonly weakJwtSecret = new Gauge({
    name: 'gregor_weak_jwt_secret',
    help: 'The user-token secret is shorter than 32 characters (accepted for Notify compatibility only)',
    registers: [this.registry],
  });
  readonly notifyBridgeDropped = new Counter({
    name: 'gregor_notify_bridge_dropped_total',
    help: 'Payloads on notify:<uid> not delivered to Gregor devices (Notify sockets still got them), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly notifyTopicsRefused = new Counter({
    name: 'gregor_notify_topics_refused_total',
    help: '/notify/ws topics not subscribed because they were over the limits (count or length)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
