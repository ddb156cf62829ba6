import { filterLevels, matchesLevels } from './mqttTopicFilter.js';

/**
 * A link's subscriptions and the routing of incoming messages to their handlers. MQTT.js
 * hands every message to one 'message' event; each handler whose filter matches gets it.
 * A handler that throws (or returns a rejected promise) loses that message only: the
 * exception is reported and the client keeps running.
 */

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface Subscription {
  filter: string;
  /** The filter split on '/', or null when it has no wildcard (plain string equality). */
  levels: string[] | null;
  handler: MessageHandler;
}

export class Subscriptions {
  private readonly list: Subscription[] = [];

  constructor(
    /** Told of each exception or rejection a handler produces. */
    private readonly onHandlerError: (filter: string, topic: string, e: unknown) => void,
  ) {}

  add(filter: string, handler: MessageHandler): Subscription {
    const s: Subscription = { filter, levels: filterLevels(filter), handler };
    this.list.push(s);
    return s;
  }

  remove(s: Subscription): void {
    this.list.splice(this.list.indexOf(s), 1);
  }

  /** Hands the message to every matching handler, in subscription order. */
  dispatch(topic: string, payload: Buffer): void {
    for (const s of this.list) {
      if (s.levels === null ? s.filter !== topic : !matchesLevels(s.levels, topic)) continue;
      try {
        const r = s.handler(topic, payload) as unknown;
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (e: unknown) =>
            this.onHandlerError(s.filter, topic, e),
          );
        }
      } catch (e) {
        this.onHandlerError(s.filter, topic, e);
      }
    }
  }
}
