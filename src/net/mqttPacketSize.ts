/**
 * How big an MQTT packet privagg sends may be. A link refuses an oversized publish
 * before sending it, with a reason, instead of letting the broker drop the connection.
 */

/**
 * Largest MQTT packet (remaining length) privagg sends, and the embedded broker accepts:
 * the largest binary MaaS message the parameters allow (a gateway partial for 10^6
 * devices, 8 dimensions, 16-byte shares) is about 125 KB.
 */
export const DEFAULT_MAX_PACKET_BYTES = 256 * 1024;

/** Remaining length of a QoS 1 PUBLISH in MQTT 3.1.1: topic (2 + bytes), packet id (2), payload. */
export function publishPacketBytes(topic: string, payloadBytes: number): number {
  return 2 + Buffer.byteLength(topic, 'utf8') + 2 + payloadBytes;
}
