/** Whether this machine can bind ::1 (IPv6 tests are skipped only when it cannot). */
import * as dgram from 'node:dgram';

export const HAS_IPV6 = await new Promise<boolean>((resolve) => {
  const s = dgram.createSocket('udp6');
  s.once('error', () => {
    s.close();
    resolve(false);
  });
  s.bind(0, '::1', () => {
    s.close();
    resolve(true);
  });
});
