import type { Extension } from '../types.js';

/**
 * Shows what this node stored, and the reminders it claimed, on the user's devices here (other
 * nodes' devices get them from the fan-out). Runs after the fan-out has published (seed 001's
 * order: publisher, then broadcaster) and reports the devices it reached.
 */
export function broadcaster(): Extension {
  return {
    name: 'broadcaster',
    priority: 200,
    afterStore({ gregor, message, result, reached }) {
      reached(gregor.deliverOnLane({ kind: 'message', message, result }, 'local'));
    },
    onReminder({ gregor, reminder }) {
      gregor.deliverOnLane({ kind: 'reminder', reminder }, 'local');
    },
  };
}
