/**
 * What privagg's roles need from an MQTT connection. `src/net/mqttClient.ts` implements
 * it over MQTT.js (MQTT 3.1.1, QoS 1, reconnect with backoff).
 */
export interface MqttLink {
  /**
   * Publishes with QoS 1 (at least once); resolves when the broker has acknowledged
   * (PUBACK). A retained message is kept by the broker and handed to later subscribers.
   */
  publish(topic: string, payload: Uint8Array, opts?: { retain?: boolean }): Promise<void>;
  /** Subscribes with QoS 1; the handler gets every message on a matching topic. Never throws into the client. */
  subscribe(topic: string, handler: (topic: string, payload: Buffer) => void): Promise<void>;
  /** Connected right now. */
  readonly connected: boolean;
  /** Times the client has reconnected since it was created. */
  readonly reconnects: number;
  close(): Promise<void>;
}
