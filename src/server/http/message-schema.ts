import { LIMITS } from '../../protocol/limits.js';

/**
 * The wire message a client sends (docs/protocol.md, "Messages"), as JSON Schema for the OpenAPI
 * document. It describes `parseMessage`, which stays the validator: its refusals name the field
 * and carry a code. What a schema cannot say (well-formed Unicode, item bodies within 64 KiB and
 * 32 levels, `expires` after `created`, at most 2,000 reminders over all items, a create or a
 * dismissal present) is in the descriptions. A test checks that every message `parseMessage`
 * accepts is valid here.
 */

/** Unix seconds, ISO 8601 with a zone, or an offset from the message's ctime. */
const TIME_TEXT = String.raw`^(?:[+-]\d{1,12}(?:\.\d{1,3})?(?:ms|s|m|h|d|w)|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))$`;

export const ID_PATTERN = '^[A-Za-z0-9._:~-]+$';

/** An ID: a user, a device, an item, a message. */
export const idSchema = {
  type: 'string',
  minLength: 1,
  maxLength: LIMITS.maxIdLength,
  pattern: ID_PATTERN,
} as const;

const wireTime = {
  type: ['number', 'string'],
  minimum: 0,
  maximum: 253_402_300_799,
  pattern: TIME_TEXT,
  description:
    'Unix seconds (fractions keep milliseconds), an ISO 8601 time with a zone, or an offset from the message\'s ctime such as "+1h" (units ms, s, m, h, d, w)',
  examples: [1457056447, '2026-11-23T10:00:00Z', '+1h'],
} as const;

const optionalTime = { ...wireTime, type: ['number', 'string', 'null'] } as const;

const category = {
  type: 'string',
  minLength: 1,
  maxLength: LIMITS.maxCategoryLength,
  description: 'a category name, without control characters',
} as const;

const forDevice = {
  anyOf: [idSchema, { type: 'null' }],
  description: 'a device ID: only that device sees it; absent or null: every device, also ones added later',
} as const;

const newItem = {
  type: 'object',
  additionalProperties: false,
  required: ['category'],
  properties: {
    times: {
      type: 'object',
      additionalProperties: false,
      properties: {
        created: {
          ...optionalTime,
          description: "default: the message's ctime. Interval dismissals compare it",
        },
        expires: { ...optionalTime, description: 'the item leaves the state then; after `created`' },
        remind_at: {
          type: ['array', 'null'],
          maxItems: LIMITS.maxRemindersPerItem,
          items: wireTime,
          description: `times to show the item again; at most ${LIMITS.maxRemindersPerMessage} over all items of a message`,
        },
      },
    },
    for_device: forDevice,
    category,
    body: {
      description: `any JSON the app shows, up to ${LIMITS.maxBodyBytes} bytes and ${LIMITS.maxBodyDepth} levels deep`,
    },
  },
} as const;

const interval = {
  type: 'object',
  additionalProperties: false,
  required: ['category'],
  properties: {
    begin: { ...optionalTime, description: 'absent or null: the beginning of time' },
    end: { ...optionalTime, description: "absent or null: the message's ctime; not before `begin`" },
    category,
  },
  description:
    'dismisses the items of `category` whose `created` lies in [begin, end], also ones created later',
} as const;

const gregorBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    create: {
      type: 'object',
      maxProperties: LIMITS.maxItemsPerMessage,
      propertyNames: idSchema,
      additionalProperties: newItem,
      description: 'new items by item ID',
    },
    dismiss: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ids: { type: 'array', maxItems: LIMITS.maxDismissIds, items: idSchema, description: 'item IDs' },
        intervals: { type: 'array', maxItems: LIMITS.maxDismissIntervals, items: interval },
        for_device: forDevice,
      },
    },
    flush: {
      const: true,
      description: 'tells every device to refetch its state; stands alone, without create or dismiss',
    },
  },
  description: 'a create, a dismissal with ids or intervals, or a flush',
} as const;

/**
 * A message to inject: `system: "gregor"` changes the stored state; any other system is relayed
 * to the user's connected devices and never stored.
 */
export const newMessageSchema = {
  $id: 'NewMessage',
  type: 'object',
  additionalProperties: false,
  required: ['system'],
  properties: {
    id: {
      ...idSchema,
      description: 'unique per user: a message sent twice is stored once. Default: derived from the message',
    },
    system: {
      type: 'string',
      minLength: 1,
      maxLength: LIMITS.maxSystemLength,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$',
      description: '"gregor" for state changes; any other name is out-of-band',
    },
    body: { description: 'for "gregor": create, dismiss or flush; otherwise any JSON, relayed as is' },
  },
  oneOf: [
    {
      title: 'state change',
      required: ['body'],
      properties: { system: { const: 'gregor' }, body: gregorBody },
    },
    {
      title: 'out-of-band',
      properties: { system: { not: { const: 'gregor' } } },
    },
  ],
  description: `a wire message (docs/protocol.md), at most ${LIMITS.maxMessageBytes} bytes of JSON`,
  examples: [
    {
      system: 'gregor',
      body: { create: { '5d44d2ad9aabab30': { category: 'user.joined', body: { keybase: 'kbob' } } } },
    },
  ],
} as const;
