import { createConnection } from 'node:net';

/**
 * Fails (never skips) when Mosquitto is not listening on 127.0.0.1:1883, saying what is
 * missing: CI starts it in .ci/services.sh; on a development machine start it with
 * `mosquitto -d -c /etc/mosquitto/mosquitto.conf`.
 */
export async function checkMosquitto(host = '127.0.0.1', port = 1883): Promise<void> {
  const problem = await new Promise<string | null>((resolve) => {
    const socket = createConnection({ host, port });
    const done = (p: string | null) => {
      socket.destroy();
      resolve(p);
    };
    socket.setTimeout(2000, () => done('no answer within 2 s'));
    socket.once('connect', () => done(null));
    socket.once('error', (e) => done(e.message));
  });
  if (problem) {
    throw new Error(
      `Mosquitto is not running on ${host}:${port} (${problem}). This test needs it: ` +
        'install it (apt-get install mosquitto) and start it (mosquitto -d -c /etc/mosquitto/mosquitto.conf); ' +
        '.ci/services.sh does both in CI.',
    );
  }
}
