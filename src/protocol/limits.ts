/** Protocol limits. Each bounds memory or CPU that one message can cost the server and every device. */
export const LIMITS = {
  /** IDs (items, devices, messages) are short tokens: they are keys in every table and index. */
  maxIdLength: 128,
  /** Category names index dismissals; long ones only waste index space. */
  maxCategoryLength: 128,
  /** One item body is shown by a client; 64 KiB is far above any notification. */
  maxBodyBytes: 64 * 1024,
  /** Nested JSON deeper than this is an attack on recursive code, not a notification. */
  maxBodyDepth: 32,
  /** Items created by one message: a message is one transaction and one broadcast. */
  maxItemsPerMessage: 1000,
  /** IDs dismissed by one message. */
  maxDismissIds: 1000,
  /** Interval dismissals in one message: each is checked against every later item of its category. */
  maxDismissIntervals: 100,
  /** Reminders per item: each is a row in the reminder index. */
  maxRemindersPerItem: 32,
  /** Reminders in one message, all items together: 32 on each of 1,000 items would block a node's event loop. */
  maxRemindersPerMessage: 2000,
  /** Interval tombstones kept per user: each is a row and replica memory; 10,000 is 100 full messages. */
  maxIntervalTombstonesPerUser: 10_000,
  /** Device scopes among them: each hidden item lists the scopes that hide it; 64 is max-devices-per-user's default. */
  maxIntervalScopesPerUser: 64,
  /** The name of an out-of-band system. */
  maxSystemLength: 128,
  /** A whole message as JSON text. */
  maxMessageBytes: 1024 * 1024,
} as const;
